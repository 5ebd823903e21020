#!/usr/bin/env bash
# security-advisories against a Red Hat CSAF VEX feed: an image of PACKAGES packages judged
# against DOCUMENTS VEX documents, cold (first read of the generated feed) and warm.
#
#   bench/csaf-vex.sh [DOCUMENTS] [PACKAGES]   # default 20000 documents, 400 packages
#   needs: cargo, rpm, rpmbuild, python3, hyperfine, /usr/bin/time
#
# The image: PACKAGES packages (three quarters x86_64, a quarter noarch) built as subpackages
# of one spec and installed by rpm, with a RHEL 9.4 os-release and RHEL 9 BaseOS/AppStream
# content sets. The feed: DOCUMENTS copies of the real cve-2024-50602.json (tests/fixtures/vex,
# 129 kB, every product and relationship of Red Hat's document) under other CVE ids, their
# component renamed to one package name each — half of them installed packages, half not —
# with the main-stream fix either newer than the installed build (a fixed finding) or older
# (nothing), laid out as Red Hat's tree (YEAR/cve-YEAR-NNNNN.json).
#
# First the answer must be the one the generator planned (the set of CVEs with a fix for the
# image); then hyperfine times the scan, and /usr/bin/time gives its peak memory. The scan
# keeps no cache: "cold" and "warm" differ only by the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpm rpmbuild python3 hyperfine; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
documents=${1:-20000}
packages=${2:-400}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p security-advisories --bin security-advisories
ours="$CARGO_TARGET_DIR/release/security-advisories"

work=$(mktemp -d)
if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
root="$work/root"
mkdir -p "$root/var/lib/rpm" "$root/etc" "$root/usr/share/buildinfo" "$work/top" "$work/vex"
printf 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\nPRETTY_NAME="Bench 9.4"\n' > "$root/etc/os-release"
printf '{"content_sets": ["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"]}\n' \
  > "$root/usr/share/buildinfo/content-sets.json"

python3 - "$work/bench.spec" "$packages" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
out = ["Name: bench-base", "Version: 1.0", "Release: 1.el9", "Summary: bench", "License: MIT",
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

# The feed, and the CVEs that must be reported (fixed for an installed x86_64 package: the
# noarch ones are named with an x86_64 fix, which dnf's name.arch rule does not apply).
python3 - "$work/vex" "$work/expected" "$documents" "$packages" tests/fixtures/vex/cve-2024-50602.json <<'EOF'
import os, sys
out, expected_path, n, packages, template = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
text = open(template).read()
expected = []
for i in range(n):
    j = i % (2 * packages)           # below PACKAGES: an installed package
    name = f"pkg{j:04d}"
    newer = i % 3 != 0               # the main-stream fix is newer than the installed 1.0-1.el9
    fix = "1.0-2.el9" if newer else "0.9-1.el9"
    cve = f"CVE-2090-{i:05d}"
    doc = (text.replace("CVE-2024-50602", cve).replace("cve-2024-50602", cve.lower())
               .replace("2.5.0-3.el9_5.1", fix).replace("expat", name))
    year = f"{2000 + i % 25}"
    os.makedirs(os.path.join(out, year), exist_ok=True)
    with open(os.path.join(out, year, f"{cve.lower()}.json"), "w") as f:
        f.write(doc)
    if j < packages and newer and j % 4 != 3:
        expected.append(cve)
open(expected_path, "w").write("\n".join(sorted(expected)) + "\n")
EOF
cp tests/fixtures/vex/repository-to-cpe-excerpt.json "$work/vex/repository-to-cpe.json"
echo "bench: feed of $(find "$work/vex" -name 'cve-*.json' | wc -l) documents, $(du -sm "$work/vex" | cut -f1) MiB"

cmd="$ours --rootfs $root --csaf-vex $work/vex"
$cmd | python3 -c '
import json, sys
doc = json.load(sys.stdin)
print("\n".join(sorted(a["Advisory"] for a in doc["Scan Results"]["Advisories"])))' > "$work/got"
cmp "$work/got" "$work/expected" || { echo "bench: the answer is not the planned one" >&2; exit 1; }
echo "bench: $(wc -l < "$work/got") CVEs with a fix reported, as planned"

# "cold": one run with the feed just written (the page cache is not dropped: that would touch
# every other process of the machine); "warm": after a warm-up run.
hyperfine -N -r 1 --export-json "$work/cold.json" -n "cold" "$cmd"
hyperfine -N -w 1 -r 5 --export-json "$work/warm.json" -n "warm" "$cmd"
# shellcheck disable=SC2086
mem=$(/usr/bin/time -f %M $cmd 2>&1 >/dev/null | tail -1)
python3 - "$work/cold.json" "$work/warm.json" "$mem" "$documents" "$packages" <<'EOF'
import json, sys
mean = lambda p: json.load(open(p))["results"][0]["mean"]
cold, warm, mem, docs, pkgs = mean(sys.argv[1]), mean(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"{pkgs} packages x {docs} VEX documents: cold {cold:.2f} s, warm {warm:.2f} s, peak memory {mem / 1024:.0f} MiB")
EOF
