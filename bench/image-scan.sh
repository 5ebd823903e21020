#!/usr/bin/env bash
# image-scan against running the three scanners one after another, in the same run, on the
# same root and the same repository.
#
#   bench/image-scan.sh [PACKAGES] [ADVISORIES]   # default 400 packages, 3000 advisories
#   needs: cargo, rpm, rpmbuild, createrepo_c, modifyrepo_c, python3, hyperfine
#
# The root: PACKAGES packages (a quarter noarch) built by rpmbuild as subpackages of one spec,
# each with 12 files of 2-64 KiB, installed by rpm; then one file in a tenth of the packages
# changed (rpm -V reports them). The repository: a newer build of every tenth package (an
# update for dnf check-update) and ADVISORIES advisories synthesized in the shape of RHEL 8's
# updateinfo (bench/synth-updateinfo.py). Timed twice: cold, both sides starting from an
# empty metadata cache each round (image-scan downloads the repository once for both
# repository checks, the scanners once each), and warm, each side's cache filled by the
# round before (as in re-scans and pipelines that keep `--cache-dir`).
#
# Two subjects, each timed both ways: the root as a directory (`--rootfs`, page-cached: the
# three scanners share nothing there but reading the database, so image-scan gains only by
# running rpm-verify beside the repository checks), and the same root as an OCI image of one
# gzip layer (`--image oci:`): each scanner alone reads and decompresses the layer, image-scan
# once for its three checks. First the combined report's three parts must hold exactly what
# the three scanners print on their own; then hyperfine times both ways, and the ratios
# (target <= 0.6) are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpm rpmbuild createrepo_c modifyrepo_c python3 hyperfine; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
packages=${1:-400}
advisories=${2:-3000}

# The binaries the images ship: `make build` (static, x86_64-unknown-linux-gnu, fat LTO).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
make -s build >/dev/null
bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

work=$(mktemp -d)
# BENCH_KEEP=1 keeps the root and the repository for a closer look.
if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
root="$work/root"
repo="$work/repo"
mkdir -p "$root/var/lib/rpm" "$root/etc" "$repo" "$work/top" "$work/top-new"
printf 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="8.4"\nPRETTY_NAME="Bench 8.4"\n' > "$root/etc/os-release"

# One spec, PACKAGES subpackages; VERSION 1.0 is installed, 1.1 of every tenth is the update.
spec() { # $1 = out, $2 = version, $3 = "all" or "tenth"
  python3 - "$1" "$packages" "$2" "$3" <<'EOF'
import sys
path, n, version, which = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = ["Name: bench-base", f"Version: {version}", "Release: 1.el8", "Summary: bench",
       "License: MIT", "%description", "bench", "%install"]
chosen = [i for i in range(n) if which == "all" or i % 10 == 0]
for i in chosen:
    d = f"%{{buildroot}}/usr/share/pkg{i:04d}"
    out.append(f"mkdir -p {d}")
    for f in range(12):
        size = 2048 << ((i + f) % 6)
        out.append(f"head -c {size} /dev/urandom > {d}/f{f:02d}")
out.append("%files")
for i in chosen:
    name = f"pkg{i:04d}"
    out += [f"%package -n {name}", f"Summary: {name}"]
    if i % 4 == 3:
        out.append("BuildArch: noarch")
    out += [f"%description -n {name}", name, f"%files -n {name}", f"/usr/share/{name}"]
open(path, "w").write("\n".join(out) + "\n")
EOF
}
spec "$work/bench.spec" 1.0 all
spec "$work/bench-new.spec" 1.1 tenth
rpmbuild -bb --quiet --target x86_64 --define "_topdir $work/top" "$work/bench.spec" >/dev/null 2>&1
rpmbuild -bb --quiet --target x86_64 --define "_topdir $work/top-new" "$work/bench-new.spec" >/dev/null 2>&1
find "$work/top/RPMS" -name 'pkg*.rpm' -print0 |
  xargs -0 rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature 2>/dev/null
for i in $(seq 5 10 "$((packages - 1))"); do
  printf 'changed' >> "$root/usr/share/pkg$(printf %04d "$i")/f00"
done
find "$work/top-new/RPMS" -name 'pkg*.rpm' -exec cp {} "$repo" \;
createrepo_c --quiet --no-database "$repo"
python3 bench/synth-updateinfo.py "$work/updateinfo.xml" "$advisories" "$packages"
modifyrepo_c --mdtype=updateinfo "$work/updateinfo.xml" "$repo/repodata" >/dev/null
echo "bench: root with $(rpm --root "$root" --dbpath /var/lib/rpm -qa | wc -l) packages," \
  "$(find "$root/usr/share" -type f | wc -l) files, $(du -sm "$root/usr/share" | cut -f1) MiB;" \
  "repository with $(find "$repo" -name '*.rpm' | wc -l) updates and $advisories advisories"

# The same root as an OCI layout: one gzip layer, as an image build writes it.
python3 - "$root" "$work/layout" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, layout = sys.argv[1], sys.argv[2]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    for name in sorted(os.listdir(root)):
        t.add(os.path.join(root, name), arcname=name)
raw = raw.getvalue()
layer = dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip",
             **put(gzip.compress(raw, compresslevel=6, mtime=0)))
config = dict(mediaType="application/vnd.oci.image.config.v1+json", **put(json.dumps({
    "architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
    "history": [{"created_by": "bench/image-scan.sh"}]}).encode()))
manifest = dict(mediaType="application/vnd.oci.image.manifest.v1+json", **put(json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config, "layers": [layer]}).encode()))
manifest["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)
with open(os.path.join(layout, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
PY
echo "bench: the same root as an OCI image of one gzip layer, $(du -sm "$work/layout/blobs" | cut -f1) MiB"

repo_args="--no-image-repos --repo t=file://$repo"
subject="--rootfs $root"
combined() { echo "$bin/image-scan $subject $repo_args --format json --cache-dir $work/cache-combined"; }
three() {
  echo "$bin/scanner-rpm-verify $subject"
  echo "$bin/pipeline-scanner $subject $repo_args --cache-dir $work/cache-updates"
  echo "$bin/security-advisories $subject $repo_args --cache-dir $work/cache-advisories"
}

# Same answers first: each part of the combined report against the scanner's own output.
same_answers() {
  $(combined) > "$work/combined.json" || [ $? -eq 1 ]
  local i=0 cmd
  while read -r cmd; do
    $cmd > "$work/alone-$i.json" || true
    i=$((i + 1))
  done < <(three)
  python3 - "$work"/combined.json "$work"/alone-{0,1,2}.json <<'PY'
import json, sys
combined = json.load(open(sys.argv[1]))
checks = combined["Scan Results"]["Checks"]
def core(doc):
    drop = {"Time", "Start Time", "Finished Time", "UUID"}
    return {k: v for k, v in doc.items() if k not in drop}
for name, path in zip(["verify", "updates", "advisories"], sys.argv[2:]):
    alone = json.load(open(path))
    part = checks[name]["Document"]
    if part.get("Successful") != "true" or core(part) != core(alone):
        sys.exit(f"bench: the combined report's {name} part failed or differs from the scanner's own document")
    print(f"bench: {name}: {part['Summary']} (same as the scanner alone)")
PY
}

rm_caches="rm -rf $work/cache-combined $work/cache-updates $work/cache-advisories"
time_both() { # $1 = label; cold, then warm
  hyperfine -w 1 -r "${BENCH_RUNS:-7}" --export-json "$work/times-$1-cold.json" --prepare "$rm_caches" \
    -n "image-scan" "$(combined) > /dev/null" \
    -n "three scanners" "$(three | sed 's|$| > /dev/null|' | paste -sd ';')"
  hyperfine -w 1 -r "${BENCH_RUNS:-7}" --export-json "$work/times-$1-warm.json" \
    -n "image-scan" "$(combined) > /dev/null" \
    -n "three scanners" "$(three | sed 's|$| > /dev/null|' | paste -sd ';')"
}

same_answers
time_both rootfs
subject="--image oci:$work/layout:bench"
same_answers
time_both image

python3 - "$work"/times-{rootfs,image}-{cold,warm}.json <<'PY'
import json, statistics, sys
def fmt(x):
    t = x["times"]
    return f"median {statistics.median(t):.3f} s (runs {min(t):.3f}-{max(t):.3f} s)"
labels = ["--rootfs cold", "--rootfs warm", "--image cold", "--image warm"]
for label, path in zip(labels, sys.argv[1:]):
    r = {x["command"]: x for x in json.load(open(path))["results"]}
    ours, three = r["image-scan"], r["three scanners"]
    ratio = statistics.median(ours["times"]) / statistics.median(three["times"])
    print(f"{label}: image-scan {fmt(ours)}; three scanners {fmt(three)}; "
          f"ratio {ratio:.2f} of their sum (target <= 0.6)")
PY
