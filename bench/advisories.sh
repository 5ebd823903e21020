#!/usr/bin/env bash
# security-advisories against `dnf updateinfo list`, in the same run, on the same root and
# the same repository.
#
#   bench/advisories.sh [ADVISORIES] [PACKAGES]   # default 6000 advisories, 400 packages
#   needs: cargo, rpm, rpmbuild, createrepo_c, modifyrepo_c, dnf, python3, hyperfine
#
# The image: PACKAGES packages (three quarters x86_64, a quarter noarch) built by rpmbuild as
# subpackages of one spec and installed by rpm. The feed: ADVISORIES advisories synthesized
# in the shape of RHEL 8's updateinfo — RHSA/RHBA/RHEA ids, 45% security (5% Critical, 35%
# Important, 40% Moderate, 20% Low), titles, ~1.5 kB descriptions, 1–5 CVE and 1–4 bugzilla
# references plus a self reference, issued/updated dates over four years, collections of
# 1–12 packages over x86_64, i686, noarch and src, a tenth of them module collections —
# naming both installed packages (at older, equal and newer versions) and ~2,600 others.
# It goes into a createrepo_c repository with modifyrepo_c (gzip, as RHEL's mirrors serve
# it zipped).
#
# First both tools must print the same (advisory, package) set for `--security` and for all
# types; then hyperfine times each, cold (empty metadata cache) and warm (cache filled by the
# previous run), and /usr/bin/time gives peak memory. The ratios are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpm rpmbuild createrepo_c modifyrepo_c dnf python3 hyperfine; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
advisories=${1:-6000}
packages=${2:-400}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p security-advisories --bin security-advisories
ours="$CARGO_TARGET_DIR/release/security-advisories"

work=$(mktemp -d)
# BENCH_KEEP=1 keeps the root, the repository and the caches for a closer look.
if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
root="$work/root"
repo="$work/repo"
mkdir -p "$root/var/lib/rpm" "$root/root" "$root/etc" "$repo" "$work/top"
ln -s ../var/lib/rpm "$root/root/.rpmdb"   # where Debian's dnf looks for the database
printf 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="8.4"\nPRETTY_NAME="Bench 8.4"\n' > "$root/etc/os-release"

# The image: one spec, PACKAGES subpackages.
python3 - "$work/bench.spec" "$packages" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
out = ["Name: bench-base", "Version: 1.0", "Release: 1.el8", "Summary: bench", "License: MIT",
       "%description", "bench", "%files"]
for i in range(n):
    name = f"pkg{i:04d}"
    out += [f"%package -n {name}", f"Summary: {name}"]
    if i % 4 == 3:
        out.append("BuildArch: noarch")
    out += [f"%description -n {name}", name, f"%files -n {name}"]
open(path, "w").write("\n".join(out) + "\n")
EOF
rpmbuild -bb --quiet --target x86_64 --define "_topdir $work/top" "$work/bench.spec" >/dev/null 2>&1
find "$work/top/RPMS" -name '*.rpm' -print0 | xargs -0 rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature 2>/dev/null
echo "bench: image with $(rpm --root "$root" --dbpath /var/lib/rpm -qa | wc -l) packages"

# The feed.
python3 bench/synth-updateinfo.py "$work/updateinfo.xml" "$advisories" "$packages"
createrepo_c --quiet --no-database "$repo"
modifyrepo_c --mdtype=updateinfo "$work/updateinfo.xml" "$repo/repodata" >/dev/null
echo "bench: feed of $(grep -c '<update ' "$work/updateinfo.xml") advisories," \
  "$(du -k "$work/updateinfo.xml" | cut -f1) kB of XML, $(du -k "$repo"/repodata/*updateinfo* | cut -f1) kB gzipped"

dnf_cmd() { # $1 = cache dir, then updateinfo list arguments
  local cache=$1; shift
  echo "dnf --installroot=$root --setopt=reposdir=/dev/null --repofrompath=t,file://$repo --releasever=8" \
       "--disableplugin=* --setopt=gpgcheck=0 --setopt=cachedir=$cache -q updateinfo list $*"
}
ours_cmd() { # $1 = cache dir, $2 = scan type
  echo "$ours --rootfs $root --no-image-repos --repo t=file://$repo --cache-dir $1 --scan-type $2"
}

# Same answers first.
pairs_dnf() { $(dnf_cmd "$work/check-dnf" "$@") | awk 'NF == 3 { print $1, $3 }' | sort -u; }
pairs_ours() {
  $(ours_cmd "$work/check-ours" "$1") | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for a in doc["Scan Results"]["Advisories"]:
    for p in a["Packages"]:
        print(a["Advisory"], p["Fixed"])' | sort -u
}
cmp <(pairs_ours security) <(pairs_dnf --security) || { echo "bench: --security answers differ" >&2; exit 1; }
cmp <(pairs_ours all) <(pairs_dnf) || { echo "bench: answers differ" >&2; exit 1; }
echo "bench: both list the same $(pairs_ours all | wc -l) (advisory, package) pairs ($(pairs_ours security | wc -l) security)"

c_dnf="$work/cache-dnf"; c_ours="$work/cache-ours"
hyperfine -N -r 5 --export-json "$work/cold.json" \
  --prepare "rm -rf $c_dnf $c_ours" \
  -n "dnf cold" "$(dnf_cmd "$c_dnf" --security)" \
  -n "ours cold" "$(ours_cmd "$c_ours" security)"
hyperfine -N -w 2 -r "${BENCH_RUNS:-15}" --export-json "$work/warm.json" \
  -n "dnf warm" "$(dnf_cmd "$c_dnf" --security)" \
  -n "ours warm" "$(ours_cmd "$c_ours" security)"

peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
# shellcheck disable=SC2046
mem_dnf=$(peak $(dnf_cmd "$c_dnf" --security))
# shellcheck disable=SC2046
mem_ours=$(peak $(ours_cmd "$c_ours" security))

python3 - "$work/cold.json" "$work/warm.json" "$mem_dnf" "$mem_ours" <<'EOF'
import json, sys
import statistics
# Medians with the runs' range: one slow spell on a shared machine moves a mean, not a median.
def runs(path):
    return {r["command"]: r["times"] for r in json.load(open(path))["results"]}
def fmt(t):
    return f"{statistics.median(t) * 1000:.0f} ms ({min(t) * 1000:.0f}-{max(t) * 1000:.0f})"
for label, path in (("cold", sys.argv[1]), ("warm", sys.argv[2])):
    r = runs(path)
    dnf, ours = r[f"dnf {label}"], r[f"ours {label}"]
    ratio = statistics.median(dnf) / statistics.median(ours)
    print(f"{label}: dnf {fmt(dnf)}, ours {fmt(ours)}: ours {ratio:.1f}x faster (medians)")
print(f"peak memory (warm): dnf {int(sys.argv[3]) / 1024:.0f} MiB, ours {int(sys.argv[4]) / 1024:.0f} MiB")
EOF
