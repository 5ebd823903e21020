#!/usr/bin/env bash
# scanner-rpm-verify against rpm -Va, and against the compute bound of hashing the same bytes,
# in the same run, on a warm page cache.
#
#   bench/verify.sh [DIR]      # needs: cargo, rpm, rpmbuild, python3, openssl, GNU time
#   ROUNDS=N                   # interleaved rounds (default 5, after one warm-up round)
#
# The root (DIR/root, default /var/tmp/rpm-verify-bench) is built once by
# bench/verify-root.sh: ≥ 1 GB in ≥ 50,000 packaged files of real binaries and libraries,
# with a few tampered files. The script
#   1. counts the root's regular files and bytes (all of them, and in distinct inodes: a file
#      with several links is hashed once by ours, once per path by rpm);
#   2. checks that `rpm-va` (this crate's rpm -Va) prints exactly what `rpm -Va` prints;
#   3. measures the SHA-256 rate of one core with `openssl speed -evp sha256` (16 KiB blocks,
#      CPU time, median of 3) — the compute bound of a core count is the distinct bytes over
#      that rate times the cores;
#   4. times in interleaved rounds (bench/interleave.py: every command once per round, so a
#      slow spell of a shared machine falls on all of them), wall and CPU (user + system):
#      `scanner-rpm-verify --rootfs ROOT --scan-type rpm-verify-all` (the JSON document, as
#      atomic gets it) with `--workers 1` and with its default (one worker per core),
#      `rpm --root ROOT -Va --nodeps`, and OpenSSL reading and hashing the root's regular
#      files in $(nproc) processes (`openssl dgst -sha256`, as a measured read+hash);
#   5. reports medians with the rounds' range (min–max), ours against rpm (wall and CPU) and
#      against the compute bound of the cores it used, and the peak RSS (GNU time's %M).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/var/tmp/rpm-verify-bench}"
root="$dir/root"
for tool in cargo rpm python3 openssl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
bench/verify-root.sh "$dir"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p scanner-rpm-verify --bins
bin="$CARGO_TARGET_DIR/release"
cores=$(nproc)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
list="$work/files"
find "$root" -path "$root/var" -prune -o -type f -print0 > "$list"
# Sums in Python: awk prints large sums as 2.3696e+09, which shell arithmetic cannot take.
read -r files bytes distinct < <(python3 - "$list" <<'EOF'
import os, sys
paths = open(sys.argv[1], "rb").read().split(b"\0")[:-1]
total = 0
inodes = {}
for p in paths:
    st = os.lstat(p)
    total += st.st_size
    inodes[(st.st_dev, st.st_ino)] = st.st_size
print(len(paths), total, sum(inodes.values()))
EOF
)
mib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 2**20:,.0f}')" "$1"; }
echo "root: $root — $files regular files, $(mib "$bytes") MiB ($(mib "$distinct") MiB in distinct inodes); $cores cores" >&2

# Warm the page cache, then the same answer from both sides.
xargs -0 -a "$list" -P "$cores" -n 1000 cat > /dev/null
rpm --root "$root" --dbpath /var/lib/rpm -Va --nodeps > "$work/rpm.out" || true
"$bin/rpm-va" --ignore-acls "$root" > "$work/ours.out" || true
if ! cmp -s "$work/rpm.out" "$work/ours.out"; then
  echo "bench: rpm-va and rpm -Va disagree:" >&2
  diff "$work/rpm.out" "$work/ours.out" >&2 || true
  exit 1
fi
echo "same output: $(wc -l < "$work/rpm.out") lines" >&2

# One core's SHA-256 rate, bytes per CPU second (openssl speed counts CPU time by default).
for _ in 1 2 3; do
  openssl speed -mr -seconds 1 -bytes 16384 -evp sha256 2>/dev/null | awk -F: '/^\+F:/ {print $4}'
done > "$work/rates"

scan="$bin/scanner-rpm-verify --rootfs $root --scan-type rpm-verify-all"
python3 bench/interleave.py --rounds "${ROUNDS:-5}" --warmup 1 --ignore-failure --json "$work/runs.json" \
  "ours --workers 1=$scan --workers 1" \
  "ours=$scan" \
  "rpm -Va=rpm --root $root --dbpath /var/lib/rpm -Va --nodeps" \
  "read+hash=sh -c 'xargs -0 -a $list -P $cores -n 2000 openssl dgst -sha256 -r > /dev/null'" >&2

rss() { { /usr/bin/time -f %M "$@" 2>&1 >/dev/null || true; } | tail -1; }
rss_one=$(rss $scan --workers 1)
rss_ours=$(rss $scan)
rss_rpm=$(rss rpm --root "$root" --dbpath /var/lib/rpm -Va --nodeps)

python3 - "$work/runs.json" "$work/rates" "$distinct" "$cores" "$rss_one" "$rss_ours" "$rss_rpm" <<'EOF'
import json, statistics, sys
runs = json.load(open(sys.argv[1]))["runs"]
rates = sorted(float(x) for x in open(sys.argv[2]).read().split())
distinct, cores = int(sys.argv[3]), int(sys.argv[4])
rss = {"ours --workers 1": int(sys.argv[5]), "ours": int(sys.argv[6]), "rpm -Va": int(sys.argv[7])}
rate = statistics.median(rates)
used = {"ours --workers 1": 1, "ours": cores}
bound = {n: distinct / (rate * n) for n in (1, cores)}

def s(label, key):
    return [r[key] / 1000 for r in runs[label]]

def fmt(v, unit="s", digits=2):
    sep = "" if unit == "x" else " "
    return f"{statistics.median(v):.{digits}f}{sep}{unit} ({min(v):.{digits}f}–{max(v):.{digits}f})"

print(f"SHA-256, one core (openssl speed -evp sha256, 16 KiB blocks, median of {len(rates)}): "
      f"{rate / 1e9:.3f} GB/s ({rates[0] / 1e9:.3f}–{rates[-1] / 1e9:.3f})")
print(f"compute bound for {distinct / 2**20:,.0f} MiB: " +
      ", ".join(f"{n} core{'s' if n > 1 else ''} {b:.3f} s" for n, b in sorted(bound.items())))
rounds = len(runs["ours"])
print(f"{rounds} interleaved rounds; medians (min–max of the rounds)")
for label in runs:
    mem = f"   peak RSS {rss[label] / 1024:.1f} MiB" if label in rss else ""
    print(f"  {label:17} wall {fmt(s(label, 'wall_ms'))}   CPU {fmt(s(label, 'cpu_ms'))}"
          f" (user {statistics.median(s(label, 'user_ms')):.2f}, sys {statistics.median(s(label, 'sys_ms')):.2f}){mem}")
rpm_wall, rpm_cpu = s("rpm -Va", "wall_ms"), s("rpm -Va", "cpu_ms")
for label, n in used.items():
    wall, cpu = s(label, "wall_ms"), s(label, "cpu_ms")
    vs_bound = [w / bound[n] for w in wall]
    cpu_bound = [c / bound[1] for c in cpu]
    vs_rpm_wall = [r / w for r, w in zip(rpm_wall, wall)]
    vs_rpm_cpu = [c / r for c, r in zip(cpu, rpm_cpu)]
    print(f"  {label}: wall {fmt(vs_bound, 'x')} the {n}-core bound, CPU {fmt(cpu_bound, 'x')} the 1-core bound;"
          f" rpm -Va / ours wall {fmt(vs_rpm_wall, 'x')}; ours / rpm CPU {fmt(vs_rpm_cpu, 'x')}")
print("targets: wall <= 1.15x the bound with 2 workers, <= 1.1x with 1; CPU <= 0.75x rpm's; peak RSS <= 30 MB (28.6 MiB)")
EOF
