#!/usr/bin/env bash
# pipeline-scanner against `dnf check-update`, in the same run, on the same root and the same
# repository served over HTTP from 127.0.0.1.
#
#   bench/updates.sh [REPO_PACKAGES] [INSTALLED]   # default 12000 repository packages, 400 installed
#   needs: cargo, rpm, rpmbuild, createrepo_c, dnf, python3, hyperfine, /usr/bin/time
#
# The image: INSTALLED packages (two thirds x86_64, a third noarch; each with 8 provides,
# 12 requires and 3 files, so that the metadata has the weight of a distribution's) built by
# rpmbuild as subpackages of one spec and installed by rpm. The repository: newer builds of
# 60% of them (some with an epoch, some release-only), a few obsoleting an installed package,
# through createrepo_c — then, because createrepo_c over 10,000 rpms is slow, primary,
# filelists and other are grown to REPO_PACKAGES packages by copying the real createrepo_c
# entries under new names and package ids (same schema, same per-package weight), compressed
# with gzip, and repomd.xml rewritten with their checksums, sizes and open-checksums. dnf
# reading it without complaint (and agreeing with us) is part of the run.
#
# First both tools must report the same (name.arch, EVR) set and the same obsoletes; then
# hyperfine times each: cold (empty metadata cache: download and parse) and warm (the cache
# filled by a previous run: dnf reads its solv cache; we fetch repomd.xml and parse the cached
# primary), and /usr/bin/time gives the peak memory of a cold run. The ratios come last.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpm rpmbuild createrepo_c dnf python3 hyperfine /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
repo_packages=${1:-12000}
installed=${2:-400}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p pipeline-scanner --bin pipeline-scanner
ours="$CARGO_TARGET_DIR/release/pipeline-scanner"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# KEEP_WORK=1 keeps the root and the repository for profiling (the path is printed).
if [ -n "${KEEP_WORK:-}" ]; then trap '[ -n "$server_pid" ] && kill "$server_pid"; echo "kept $work"' EXIT; fi
root="$work/root"
served="$work/served"
mkdir -p "$root/var/lib/rpm" "$root/root" "$root/etc" "$served/repo" "$work/top"
ln -s ../var/lib/rpm "$root/root/.rpmdb"   # where Debian's dnf looks for the database
printf 'NAME="Bench Linux"\nVERSION_ID="8"\nPRETTY_NAME="Bench Linux 8"\nPLATFORM_ID="platform:el8"\n' > "$root/etc/os-release"

# One spec, INSTALLED subpackages; VERSION/RELEASE/EPOCH per build, a predicate picks which
# subpackages a build contains.
spec() { # $1 version, $2 release, $3 which (all|updates)
  python3 - "$1" "$2" "$3" "$installed" <<'PY'
import sys
version, release, which, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
print("Name: benchbase\nVersion: %s\nRelease: %s\nSummary: bench\nLicense: MIT" % (version, release))
print("%global __os_install_post %{nil}\n%define debug_package %{nil}\n%define _build_id_links none")
print("%description\nbench\n")
chosen = []
for i in range(n):
    name = "bench-%04d" % i
    if which == "updates" and i % 5 in (1, 4):
        continue  # 60% get an update
    chosen.append(name)
    print("%%package -n %s\nSummary: %s, a benchmark package\n" % (name, name))
    if which == "updates" and i % 50 == 0:
        print("Epoch: 1")
    if i % 3 == 2:
        print("BuildArch: noarch")
    for k in range(8):
        print("Provides: %s-cap%d = %s" % (name, k, version))
    for k in range(12):
        print("Requires: bench-lib%d >= 0.%d" % ((i + k) % 97, k))
    if which == "updates" and i % 40 == 3:
        print("Obsoletes: bench-%04d < 9" % ((i + 1) % n))
    print("%%description -n %s\n%s\n" % (name, name))
print("%install\nmkdir -p %{buildroot}/usr/share/bench")
for name in chosen:
    print("mkdir -p %%{buildroot}/usr/share/bench/%s && echo %s > %%{buildroot}/usr/share/bench/%s/a && echo %s > %%{buildroot}/usr/share/bench/%s/b" % (name, name, name, name, name))
for name in chosen:
    print("%%files -n %s\n/usr/share/bench/%s\n" % (name, name))
PY
}
build() { # $1 version $2 release $3 which $4 outdir
  local top="$work/top/$1-$2"
  mkdir -p "$top" "$4"
  spec "$1" "$2" "$3" > "$top/bench.spec"
  rpmbuild -bb --quiet --define "_topdir $top" --define "_rpmdir $4" \
    --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
    --define '_binary_payload w0.ufdio' --target x86_64 "$top/bench.spec" >/dev/null 2>&1
}
echo "building $installed installed packages and their updates with rpmbuild..."
build 1.0 1 all "$work/installed"
build 1.0 2 updates "$work/updates"
rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature --ignorearch \
  "$work"/installed/*.rpm 2>&1 | grep -v 'use Alien\|assuming you know' || true
cp "$work"/updates/*.rpm "$served/repo/"
createrepo_c --quiet --no-database --simple-md-filenames "$served/repo"

echo "growing the repository to $repo_packages packages..."
python3 - "$served/repo" "$repo_packages" <<'PY'
import gzip, hashlib, os, re, sys, time
repo, want = sys.argv[1], int(sys.argv[2])
rd = os.path.join(repo, "repodata")
def read(kind):
    return gzip.open(os.path.join(rd, kind + ".xml.gz"), "rt", encoding="utf-8").read()
docs = {k: read(k) for k in ("primary", "filelists", "other")}
def split(doc):
    head_end = doc.index("<package")
    tail_start = doc.rindex("</package>") + len("</package>")
    blocks = re.findall(r"<package[ >].*?</package>", doc[head_end:tail_start], re.S)
    return doc[:head_end], blocks, doc[tail_start:]
parts = {k: split(v) for k, v in docs.items()}
real = len(parts["primary"][1])
copies = -(-(want - real) // real)  # ceil
out = {}
for kind, (head, blocks, tail) in parts.items():
    grown = list(blocks)
    for c in range(copies):
        for b in blocks:
            if len(grown) >= want:
                break
            name = re.search(r'(?:<name>|name=")(bench-\d{4})', b).group(1)
            new = "%s-syn%03d" % (name, c)
            pkgid = hashlib.sha256(new.encode()).hexdigest()
            b2 = b.replace(name, new)
            b2 = re.sub(r'(pkgid="?)(?:YES"?>)?[0-9a-f]{64}', lambda m: m.group(0)[:-64] + pkgid, b2)
            grown.append(b2)
    head = re.sub(r'packages="\d+"', 'packages="%d"' % len(grown), head)
    out[kind] = head + "\n".join(grown) + tail
    assert len(grown) == want, (kind, len(grown))
repomd_path = os.path.join(rd, "repomd.xml")
repomd = open(repomd_path).read()
now = int(time.time())
for kind, text in out.items():
    raw = text.encode()
    path = os.path.join(rd, kind + ".xml.gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(raw, 6))
    comp = open(path, "rb").read()
    block_re = re.compile(r'(<data type="%s">)(.*?)(</data>)' % kind, re.S)
    def fix(m):
        body = m.group(2)
        body = re.sub(r'(<checksum type="sha256">)[0-9a-f]+', r'\g<1>' + hashlib.sha256(comp).hexdigest(), body)
        body = re.sub(r'(<open-checksum type="sha256">)[0-9a-f]+', r'\g<1>' + hashlib.sha256(raw).hexdigest(), body)
        body = re.sub(r'(<size>)\d+', r'\g<1>%d' % len(comp), body)
        body = re.sub(r'(<open-size>)\d+', r'\g<1>%d' % len(raw), body)
        body = re.sub(r'(<timestamp>)\d+', r'\g<1>%d' % now, body)
        return m.group(1) + body + m.group(3)
    repomd = block_re.sub(fix, repomd)
open(repomd_path, "w").write(repomd)
print("primary: %d packages, %.1f MB uncompressed, %.1f MB gzip" % (want, len(out["primary"]) / 1e6, os.path.getsize(os.path.join(rd, "primary.xml.gz")) / 1e6))
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$served" "$port" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/repo/repodata/repomd.xml" >/dev/null 2>&1 && break; sleep 0.1; done
url="http://127.0.0.1:$port/repo/"

dnf_cmd() { # $1 cachedir
  echo dnf --installroot="$root" --setopt=cachedir="$1" --setopt=reposdir=/dev/null \
    --repofrompath=bench,"$url" --releasever=8 --disableplugin=\'*\' --setopt=gpgcheck=0 -q check-update
}
ours_cmd() { # $1 cachedir
  echo "$ours" --rootfs "$root" --no-image-repos --repo bench="$url" --cache-dir "$1"
}

echo "checking that both tools give the same answer..."
eval "$(dnf_cmd "$work/dnf-check")" > "$work/dnf.out" 2>/dev/null || true
$(ours_cmd "$work/ours-check") > "$work/ours.json"
python3 - "$work/dnf.out" "$work/ours.json" <<'PY'
import json, sys
dnf, ours = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
upd, obs, section, last = set(), set(), "updates", None
for line in dnf.splitlines():
    if line.startswith("Obsoleting Packages"):
        section = "obsoletes"; continue
    f = line.split()
    if len(f) != 3: continue
    if section == "updates": upd.add((f[0], f[1]))
    elif line.startswith(" "): obs.add((last, f[0]))
    else: last = (f[0], f[1])
r = ours["Scan Results"]
o_upd = {(d["Package"], d["Available"]) for d in r["Update Details"]}
o_obs = {((d["Package"], d["Available"]), d["Obsoletes"]) for d in r["Obsoleting Packages"]}
assert not r["Repository Errors"], r["Repository Errors"]
assert upd == o_upd, ("updates differ", sorted(upd ^ o_upd)[:10])
assert obs == o_obs, ("obsoletes differ", sorted(obs ^ o_obs)[:10])
print("same answer: %d updates, %d obsoletes; repository of %d packages" % (len(upd), len(obs), r["Repositories"][0]["Packages"]))
PY

echo "timing..."
hyperfine --style basic --export-json "$work/times.json" --warmup 1 --runs 5 \
  --prepare "rm -rf $work/dnf-cold" --prepare "true" --prepare "rm -rf $work/ours-cold" --prepare "true" \
  -n "dnf cold" "$(dnf_cmd "$work/dnf-cold") || true" \
  -n "dnf warm" "$(dnf_cmd "$work/dnf-check") || true" \
  -n "ours cold" "$(ours_cmd "$work/ours-cold") >/dev/null" \
  -n "ours warm" "$(ours_cmd "$work/ours-check") >/dev/null" 2>&1 | grep -v '^ *$' || true

peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
rm -rf "$work/dnf-cold" "$work/ours-cold"
dnf_peak=$(eval "peak $(dnf_cmd "$work/dnf-cold")" || true)
ours_peak=$(peak $(ours_cmd "$work/ours-cold"))
ours_warm_peak=$(peak $(ours_cmd "$work/ours-check"))
python3 - "$work/times.json" "$dnf_peak" "$ours_peak" "$ours_warm_peak" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
t = {r["command"]: r["median"] for r in results}
cpu = {r["command"]: r["user"] + r["system"] for r in results}
dnf_peak, ours_peak, ours_warm_peak = (int(x) / 1024 for x in sys.argv[2:5])
print("\nmedian wall time (s): " + ", ".join("%s %.3f" % (k, v) for k, v in t.items()))
print("cold: ours %.1fx faster than dnf" % (t["dnf cold"] / t["ours cold"]))
print("warm: ours %.1fx faster than dnf" % (t["dnf warm"] / t["ours warm"]))
print("mean CPU time, user+system (s): " + ", ".join("%s %.3f" % (k, v) for k, v in cpu.items()))
print("CPU: cold %.1fx, warm %.1fx less than dnf" % (cpu["dnf cold"] / cpu["ours cold"], cpu["dnf warm"] / cpu["ours warm"]))
print("peak memory (MiB): dnf cold %.0f, ours cold %.0f, ours warm %.0f" % (dnf_peak, ours_peak, ours_warm_peak))
PY
