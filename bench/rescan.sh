#!/usr/bin/env bash
# image-scan over a list of images in a registry (`--images-from`): images per minute with one
# process and with two (`--shard 0/2` and `--shard 1/2` at once, sharing one `--state`), and
# what the state store (`--state DIR`, docs/rescan.md) adds per image, against the same run
# without `--state`. There is no other tool to compare with: the reference is image-scan itself
# without the state store, and one process for the two.
#
#   bench/rescan.sh
#   IMAGES=N   images in the list (default 200)
#   ROUNDS=N   rounds of every measurement (default 3); medians and ranges are printed
#   CHECKS=C   --checks (default verify,updates,advisories: all three)
#   needs: cargo, rpm, rpmbuild, createrepo_c, modifyrepo_c, python3, tar, umoci, skopeo,
#          docker-registry (Debian's, distribution 2.8), GNU time (/usr/bin/time), pgrep
#
# The images: one root of 20 small packages (rpmbuild, installed by `rpm --root`, 80 files of
# 1-8 KiB, one of them changed afterwards so the file check finds it), made into one gzip
# layer by umoci; then IMAGES images of that layer, each with its own label (`umoci config
# --config.label`), so each has its own config and manifest digest: IMAGES distinct images
# that share one small layer, as a registry of small services built from one base would
# hold. They are pushed by skopeo to Debian's docker-registry, started by this script on
# 127.0.0.1 (a free port, plain HTTP: image-scan --tls-verify=false), one repository each
# (bench/appNNN:1.0). The repository: a local directory (`--repo bench=DIR`, createrepo_c)
# holding one update (pkg00 1.1) and an updateinfo of one security advisory for it, with
# `--no-image-repos`. Each image thus has 1 tampered file, 1 update and 1 advisory.
#
# A warm-up run (no --state) fills one --cache-dir that every later run shares, so the
# repository's metadata is read from the cache, not downloaded and parsed into it: what is
# measured is opening each image from the registry, the three checks and the reports (and the
# state store). Each round then times, one after another on the same list (the no-state run
# first in odd rounds and last in even ones, so that a drift of the load favours neither):
#   no state   1 process, no --state;
#   fresh      1 process, --state of an empty folder (every subject a first scan);
#   re-scan    1 process, --state that the fresh run just filled (every subject compared with
#              its previous record, and a new record written);
#   2 procs    --shard 0/2 and --shard 1/2 started together on an empty shared --state, wall
#              time until both end.
# Every run is checked before it counts: exit status 0, one document per reference (across
# the two shards: each reference exactly once), every "Successful": "true" with 1 tampered
# file, 1 update and 1 advisory; Changes absent without --state, "First Scan" in the fresh
# runs, "Cause": "none" by reference in the re-scan; IMAGES records in the state's
# by-reference/. The summary: images per minute of the fresh 1-process and the 2-process
# runs (medians, ranges), their ratio, and the state store's cost per image: the median of
# each round's (fresh - no state) / IMAGES and (re-scan - no state) / IMAGES; the wall and
# CPU (user + system, both processes for the 2-process runs) times beside them.
#
# Where the time goes: most of an image's wall time is not CPU (compare the CPU line). The
# process waits on the registry (a handful of requests an image, over loopback) and on the file
# system: image-scan keeps each image's package database and /etc in a spool folder under
# $TMPDIR (SQLite reads a file), made and removed per image, and on a busy ext4 /tmp those
# creates, links and unlinks cost from a few to ~30 ms an image. So two processes on two
# cores can gain 2x or more, and the figures move with the machine's load. TMPDIR=/dev/shm
# puts the spool on tmpfs, and this script's folder too (the state's fsyncs become free).
#
# Two runs on this 2-core machine, shared with other builds (load average 3.5-3.9 and
# 4.6-5.7), release build, ROUNDS=3: 1 process 2,230 and 1,020 images/min, 2 processes 4,734
# and 2,326 (2.12x, 2.28x); the state store +2.6 / +7.4 ms/image fresh and +3.2 / +11.6
# ms/image re-scan in wall time (of 25 / 53 ms/image without it), but only +0.8-1.1 ms/image
# of CPU in both (of ~10): the rest of its cost is waiting on the disk (each record written,
# fsynced and renamed), which a busy disk makes long.
#
# Everything is made in one mktemp folder, removed (and the registry stopped, by its pid) when
# the script ends; BENCH_KEEP=1 keeps the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in cargo rpm rpmbuild createrepo_c modifyrepo_c python3 tar umoci skopeo docker-registry pgrep /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "rescan: $tool is missing" >&2; exit 2; }
done
images=${IMAGES:-200}
rounds=${ROUNDS:-3}
checks=${CHECKS:-verify,updates,advisories}
packages=20

# The binaries the images ship: `make build` (static, x86_64-unknown-linux-gnu, fat LTO).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
make -s build >/dev/null
bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

work=$(mktemp -d)
registry_pid=""
scan_pids=()
kill_tree() { # a process this script started, and its children (the shard runs' image-scan)
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill "$1" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${scan_pids[@]}" $registry_pid; do
    kill_tree "$p"
    wait "$p" 2>/dev/null || true
  done
  # BENCH_KEEP=1 keeps the root, the layout, the lists and the reports for a closer look.
  if [ -n "${BENCH_KEEP:-}" ]; then echo "rescan: keeping $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "rescan: $*" >&2; exit 1; }

# --- the root and the repository -------------------------------------------------------------
root="$work/root"
repo="$work/repo"
mkdir -p "$root/var/lib/rpm" "$root/etc" "$repo" "$work/top" "$work/top-new"
printf 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="8.4"\nPRETTY_NAME="Bench 8.4"\n' > "$root/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"

spec() { # $1 = out, $2 = version, $3 = how many packages (pkg00...)
  local i f
  {
    printf '%s\n' "Name: bench-rescan" "Version: $2" "Release: 1.el8" "Summary: bench" "License: MIT" \
      "%global __os_install_post %{nil}" "%define _build_id_links none" "%define debug_package %{nil}" \
      "%description" "bench" "%install"
    for ((i = 0; i < $3; i++)); do
      printf 'mkdir -p %%{buildroot}/usr/share/pkg%02d\n' "$i"
      for f in 0 1 2 3; do
        printf 'head -c %d /dev/urandom > %%{buildroot}/usr/share/pkg%02d/f%d\n' $((1024 << ((i + f) % 4))) "$i" "$f"
      done
    done
    for ((i = 0; i < $3; i++)); do
      printf '%%package -n pkg%02d\nSummary: pkg%02d\n%%description -n pkg%02d\npkg%02d\n%%files -n pkg%02d\n/usr/share/pkg%02d\n' \
        "$i" "$i" "$i" "$i" "$i" "$i"
    done
  } > "$1"
}
spec "$work/bench.spec" 1.0 "$packages"
spec "$work/bench-new.spec" 1.1 1
rpmbuild -bb --quiet --target x86_64 --define "_topdir $work/top" "$work/bench.spec" >/dev/null 2>&1 ||
  fail "rpmbuild failed ($work/bench.spec)"
rpmbuild -bb --quiet --target x86_64 --define "_topdir $work/top-new" "$work/bench-new.spec" >/dev/null 2>&1 ||
  fail "rpmbuild failed ($work/bench-new.spec)"
find "$work/top/RPMS" -name 'pkg*.rpm' -print0 |
  xargs -0 rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature 2>/dev/null
printf 'changed' >> "$root/usr/share/pkg05/f0"   # the tampered file
find "$work/top-new/RPMS" -name 'pkg*.rpm' -exec cp {} "$repo" \;
createrepo_c --quiet --no-database "$repo"
cat > "$work/updateinfo.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="bench@example.org" status="final" type="security" version="2">
    <id>RHSA-2026:0001</id>
    <title>Important: pkg00 security update</title>
    <issued date="2026-01-05 10:00:00"/>
    <updated date="2026-01-05 10:00:00"/>
    <severity>Important</severity>
    <summary>pkg00: a buffer overflow</summary>
    <description>A buffer overflow in pkg00 could let a remote attacker run code.</description>
    <references>
      <reference href="https://access.redhat.com/errata/RHSA-2026:0001" id="RHSA-2026:0001" type="self" title="RHSA-2026:0001"/>
      <reference href="https://access.redhat.com/security/cve/CVE-2026-0001" id="CVE-2026-0001" type="cve" title="CVE-2026-0001"/>
    </references>
    <pkglist>
      <collection short="">
        <name>bench</name>
        <package name="pkg00" version="1.1" release="1.el8" epoch="0" arch="x86_64" src="bench-rescan-1.1-1.el8.src.rpm">
          <filename>pkg00-1.1-1.el8.x86_64.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
EOF
modifyrepo_c --mdtype=updateinfo "$work/updateinfo.xml" "$repo/repodata" >/dev/null
echo "rescan: root with $(rpm --root "$root" --dbpath /var/lib/rpm -qa | wc -l) packages," \
  "$(find "$root/usr/share" -type f | wc -l) files; repository with 1 update and 1 advisory" >&2

# --- IMAGES distinct images of one layer -------------------------------------------------------
layout="$work/layout"
tar --create --file "$work/layer.tar" --format=pax --numeric-owner --owner=0 --group=0 -C "$root" .
umoci init --layout "$layout"
umoci new --image "$layout:base"
umoci raw add-layer --image "$layout:base" --history.created_by "COPY root /" "$work/layer.tar"
rm -f "$work/layer.tar"
names=()
for ((i = 0; i < images; i++)); do
  names+=("$(printf 'app%03d' "$i")")
done
for n in "${names[@]}"; do
  umoci config --image "$layout:base" --tag "$n" --config.label "org.example.bench.image=$n" --no-history
done

# --- the registry ------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/registry/storage"
cat > "$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry/storage
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/registry/config.yml" < /dev/null > "$work/registry/log" 2>&1 &
registry_pid=$!
for ((i = 0; ; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  [ "$i" -lt 200 ] || fail "docker-registry did not listen on 127.0.0.1:$port: $(cat "$work/registry/log")"
  kill -0 "$registry_pid" 2>/dev/null || fail "docker-registry ended: $(cat "$work/registry/log")"
  sleep 0.1
done
host="127.0.0.1:$port"
printf '%s\n' "${names[@]}" |
  xargs -P 4 -I{} skopeo --insecure-policy copy --quiet --dest-tls-verify=false \
    "oci:$layout:{}" "docker://$host/bench/{}:1.0"
list="$work/images.txt"
{
  echo "# $images images in the bench's registry"
  printf "docker://$host/bench/%s:1.0\n" "${names[@]}"
} > "$list"
echo "rescan: $images images (one $(du -k "$(ls -S "$layout"/blobs/sha256/* | head -1)" | cut -f1) KiB layer," \
  "a label each) in docker-registry on $host; list $list" >&2

# --- the check of every run --------------------------------------------------------------------
cat > "$work/check.py" <<'PY'
import json, os, sys
# check.py LIST CHECKS EXPECT STATE_DIR|- OUT.json...   EXPECT: none, first, rescan
# Prints the number of documents of each OUT.json ("100 + 100").
list_file, checks, expect, state, outs = sys.argv[1], sorted(sys.argv[2].split(",")), sys.argv[3], sys.argv[4], sys.argv[5:]
counts = []
want = sorted(l.strip() for l in open(list_file) if l.strip() and not l.strip().startswith("#"))
seen = []
def fail(msg):
    sys.exit(f"rescan: {' + '.join(outs)}: {msg}")
for out in outs:
    doc = json.load(open(out))
    docs = doc if isinstance(doc, list) else [doc]
    counts.append(str(len(docs)))
    if len(outs) > 1 and not docs:
        fail(f"{out}: a shard scanned nothing")
    for d in docs:
        subject = d["Scan Results"]["Subject"]
        seen.append(subject)
        if d.get("Successful") != "true":
            fail(f"{subject}: not successful: {d.get('Error')}")
        ran = d["Scan Results"]["Checks"]
        if sorted(ran) != checks:
            fail(f"{subject}: checks {sorted(ran)}, expected {checks}")
        for c, v in ran.items():
            if not v["Ran"]:
                fail(f"{subject}: {c} did not run")
            if v["Findings"] != 1:
                fail(f"{subject}: {c}: {v['Findings']} findings, expected 1 ({d['Summary']})")
        changes = d.get("Changes")
        if expect == "none":
            if changes is not None:
                fail(f"{subject}: Changes without --state")
        elif changes is None:
            fail(f"{subject}: no Changes with --state")
        elif expect == "first" and changes.get("First Scan") is not True:
            fail(f"{subject}: not a first scan in a fresh state: {changes.get('Summary')}")
        elif expect == "rescan" and (changes.get("First Scan") is not False
                                     or changes.get("Compared By") != "reference"
                                     or changes.get("Cause") != "none"):
            fail(f"{subject}: the re-scan did not find the previous record unchanged: {changes}")
if sorted(seen) != want:
    dup = sorted({s for s in seen if seen.count(s) > 1})
    missing = sorted(set(want) - set(seen))
    fail(f"{len(seen)} documents for {len(want)} references; scanned twice: {dup[:5]}, missing: {missing[:5]}")
if state != "-":
    records = len(os.listdir(os.path.join(state, "by-reference")))
    if records != len(want):
        fail(f"{records} records in {state}/by-reference, expected {len(want)}")
print(" + ".join(counts))
PY

scan() { # $1 = report name (in $work/out), then image-scan's extra arguments
  local name=$1
  shift
  /usr/bin/time -f '%U %S' -o "$work/out/$name.cpu" \
    "$bin/image-scan" --images-from "$list" --tls-verify=false --checks "$checks" \
    --no-image-repos --repo "bench=$repo" --cache-dir "$work/cache" --format json "$@" \
    > "$work/out/$name.json" 2> "$work/out/$name.err"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
cpu_ms() { # the user + system CPU of the runs named, in ms
  local name
  for name in "$@"; do cat "$work/out/$name.cpu"; done | awk '{ s += $1 + $2 } END { printf "%d", s * 1000 }'
}
# $1 = run name, $2 = expect (none|first|rescan), $3 = state dir or -, then extra arguments
one() {
  local name=$1 expect=$2 state=$3 t0 t1 rc=0
  shift 3
  t0=$(now_ms)
  scan "$name" "$@" || rc=$?
  t1=$(now_ms)
  [ "$rc" = 0 ] || fail "$name: image-scan exited $rc: $(tail -5 "$work/out/$name.err")"
  python3 "$work/check.py" "$list" "$checks" "$expect" "$state" "$work/out/$name.json" > /dev/null
  elapsed=$((t1 - t0))
}
mkdir -p "$work/out"
echo "rescan: load average before: $(uptime | sed 's/.*load average: //')" >&2
one warmup none -
echo "rescan: warm-up (fills --cache-dir): $elapsed ms, $images subjects successful" >&2

times="$work/times.txt"
: > "$times"
for ((r = 1; r <= rounds; r++)); do
  # The run without --state before the two with it in odd rounds, after them in even ones.
  if [ $((r % 2)) = 1 ]; then one "r$r-nostate" none -; t_none=$elapsed; fi
  one "r$r-fresh" first "$work/state-r$r" --state "$work/state-r$r"
  t_fresh=$elapsed
  one "r$r-rescan" rescan "$work/state-r$r" --state "$work/state-r$r"
  t_rescan=$elapsed
  if [ $((r % 2)) = 0 ]; then one "r$r-nostate" none -; t_none=$elapsed; fi
  t0=$(now_ms)
  scan "r$r-shard0" --state "$work/state2-r$r" --shard 0/2 &
  scan_pids=($!)
  scan "r$r-shard1" --state "$work/state2-r$r" --shard 1/2 &
  scan_pids+=($!)
  rc0=0 rc1=0
  wait "${scan_pids[0]}" || rc0=$?
  wait "${scan_pids[1]}" || rc1=$?
  t1=$(now_ms)
  scan_pids=()
  [ "$rc0" = 0 ] || fail "r$r-shard0: image-scan exited $rc0: $(tail -5 "$work/out/r$r-shard0.err")"
  [ "$rc1" = 0 ] || fail "r$r-shard1: image-scan exited $rc1: $(tail -5 "$work/out/r$r-shard1.err")"
  split=$(python3 "$work/check.py" "$list" "$checks" first "$work/state2-r$r" \
    "$work/out/r$r-shard0.json" "$work/out/r$r-shard1.json")
  t_two=$((t1 - t0))
  echo "$r $t_none $t_fresh $t_rescan $t_two $(cpu_ms "r$r-nostate") $(cpu_ms "r$r-fresh") $(cpu_ms "r$r-rescan")" \
    "$(cpu_ms "r$r-shard0" "r$r-shard1")" >> "$times"
  echo "rescan: round $r: no state $t_none ms, fresh state $t_fresh ms, re-scan $t_rescan ms," \
    "2 processes $t_two ms ($split subjects)" >&2
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$work/state-r$r" "$work/state2-r$r" "$work"/out/r"$r"-*; fi
done
load=$(uptime | sed 's/.*load average: //')

python3 - "$times" "$images" "$rounds" "$checks" "$(nproc)" "$load" <<'PY'
import statistics, sys
path, n, rounds, checks, cores, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
rows = [list(map(int, l.split()))[1:] for l in open(path)]
none, fresh, rescan, two, cpu_none, cpu_fresh, cpu_rescan, cpu_two = ([r[i] for r in rows] for i in range(8))
med = statistics.median
def rate(ms):
    return n * 60000 / ms
def per_min(ts):
    rs = sorted(rate(t) for t in ts)
    return f"{med(rs):,.0f} images/min ({rs[0]:,.0f}-{rs[-1]:,.0f})"
def overhead(ts, base=none):
    d = sorted((t - b) / n for t, b in zip(ts, base))
    return f"{med(d):+.1f} ms/image ({d[0]:+.1f} to {d[-1]:+.1f})"
def wall(ts):
    return f"{med(ts) / 1000:.2f} s ({min(ts) / 1000:.2f}-{max(ts) / 1000:.2f})"
print(f"== {n} images, checks {checks}, {rounds} rounds, {cores} cores, load average {load}")
print(f"   wall: no state {wall(none)}, fresh state {wall(fresh)}, re-scan {wall(rescan)}, 2 processes {wall(two)}")
print(f"   CPU (user + sys, all processes): no state {wall(cpu_none)}, fresh state {wall(cpu_fresh)},"
      f" re-scan {wall(cpu_rescan)}, 2 processes {wall(cpu_two)}")
print(f"1 process: {per_min(fresh)}  (--state, fresh; without --state {per_min(none)})")
print(f"2 processes: {per_min(two)}, ratio {rate(med(two)) / rate(med(fresh)):.2f}x  (of 1 process, fresh state)")
print(f"state store: {overhead(fresh)} fresh, {overhead(rescan)} re-scan"
      f"  (of {med(none) / n:.1f} ms/image without --state)")
print(f"   its CPU: {overhead(cpu_fresh, cpu_none)} fresh, {overhead(cpu_rescan, cpu_none)} re-scan"
      f"  (of {med(cpu_none) / n:.1f} ms/image without --state)")
PY
