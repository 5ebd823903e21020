#!/usr/bin/env bash
# scanner-rpm-verify --image (the image read in place: layers decompressed, applied in memory,
# files hashed as they stream past) against unpacking the image and verifying the directory,
# in interleaved rounds (bench/interleave.py), on one multi-layer image in three places.
#
#   bench/image-verify.sh [DIR]    # default DIR: /var/tmp/image-verify-bench
#
#   FILES=N     package only the first N files (a quick check that the script works);
#               default: all of them, ≥ 50,000 packaged files, ≥ 1 GB (as bench/verify-root.sh)
#   ROOT=PATH   use an existing rpm root instead of building one (e.g. bench/verify-root.sh's
#               /var/tmp/rpm-verify-bench/root); it is only read
#   LAYERS=N    layers the root is split into (default 4), plus one layer that tampers
#   ROUNDS=N    interleaved rounds (default 5; one warm-up round more)
#   BIN=DIR     where scanner-rpm-verify and rpm-va are (default: a release build)
#
# Needs cargo, rpm, rpmbuild, python3, tar, gzip, umoci, skopeo, docker-registry, GNU time
# (/usr/bin/time). Not run by CI. Takes ~3x the root's size on disk in DIR.
#
# What it does:
#   1. builds the root (real binaries and libraries of this machine packaged by rpmbuild into
#      RPMs of 256 files, installed by rpm), unless DIR/root is complete or ROOT is given;
#   2. splits it into LAYERS layer tars (GNU tar, PAX, security.capability kept) plus a last
#      layer that rewrites one library and whites out one header; `umoci raw add-layer`
#      makes the OCI layout DIR/layout:bench (gzip layers);
#   3. `skopeo copy` to DIR/image.oci.tar (oci-archive) and to Debian's docker-registry
#      started on 127.0.0.1 (plain HTTP; stopped, by its pid, when the script ends);
#   4. `umoci unpack` to DIR/bundle; checks that rpm-va on it prints what rpm -Va prints and
#      that --image oci-archive / docker:// report the same findings as --rootfs;
#   5. times, interleaved: --image oci-archive:, --image docker:// (--tls-verify=false),
#      --rootfs on the unpacked dir, `umoci unpack` + `rpm -Va` (+ removing the bundle: what
#      scanning by unpacking costs), and the decompression bound: every layer blob through
#      `zcat` to /dev/null, one process per layer, $(nproc) at a time;
#   6. peak RSS of each (GNU time's "Maximum resident set size").
#
# One run on this 2-core machine, shared and loaded (load average ~6), release build, 3 rounds:
# 50,324 files, 1.9 GB, 5 layers, 540 MB gzip. --image oci-archive 4.8 s wall / 6.8 s CPU,
# --image docker:// 1.05x that, --rootfs on the unpacked dir 0.28x, umoci unpack + rpm -Va
# 13.5x wall / 5.8x CPU, zcat of the layers (2 procs) 1.38x wall / 1.34x CPU. Peak RSS:
# --image 46-48 MiB, --rootfs 10.4 MiB, umoci unpack 88 MiB, rpm -Va 8.7 MiB.
#
# DIR is made by this script and marked (DIR/.image-verify-bench); an existing DIR without the
# mark is refused, never removed.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/var/tmp/image-verify-bench}"
layers="${LAYERS:-4}"
rounds="${ROUNDS:-5}"
for tool in cargo rpm rpmbuild python3 tar zcat umoci skopeo docker-registry /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "image-verify: $tool is missing" >&2; exit 2; }
done

mark="$dir/.image-verify-bench"
if [ -e "$dir" ] && [ ! -e "$mark" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "image-verify: $dir exists and was not made by this script; give another DIR" >&2
  exit 2
fi
mkdir -p "$dir"
touch "$mark"

# --- 1. the root ---------------------------------------------------------------------------
if [ -n "${ROOT:-}" ]; then
  root="$ROOT"
  [ -d "$root/var/lib/rpm" ] || { echo "image-verify: $root has no var/lib/rpm" >&2; exit 2; }
else
  root="$dir/root"
  if [ ! -e "$root/.complete" ]; then
    rm -rf "$root" "$dir/top" "$dir/rpms"   # ours: below the marked DIR
    mkdir -p "$dir/top/SOURCES" "$dir/rpms" "$root/var/lib/rpm"
    sources=(/usr/lib/x86_64-linux-gnu /usr/bin /usr/sbin /usr/libexec /usr/lib/google-cloud-sdk/lib
             /usr/include /usr/lib/python3 /usr/lib/python3.11 /usr/share/perl)
    existing=()
    for s in "${sources[@]}"; do [ -d "$s" ] && existing+=("$s"); done
    find "${existing[@]}" \( -type f -o -type l \) -print | LC_ALL=C sort \
      | grep -E '^[A-Za-z0-9_./+@=,:-]+$' | awk -v n="${FILES:-0}" 'n == 0 || NR <= n' > "$dir/top/SOURCES/files.txt"
    python3 - "$dir/top/SOURCES/files.txt" "$dir/top/bench-image.spec" <<'EOF'
import sys
files = [l.rstrip("\n") for l in open(sys.argv[1])]
chunks = [files[i:i + 256] for i in range(0, len(files), 256)]
with open(sys.argv[2], "w") as out:
    out.write("""%global __os_install_post %{nil}
%define _build_id_links none
%define debug_package %{nil}
%define _unpackaged_files_terminate_build 0
Name: bench-image
Version: 1.0
Release: 1
Summary: Benchmark image root
License: various
AutoReqProv: no
%description
Real binaries and libraries, repackaged.
""")
    for i, _ in enumerate(chunks):
        out.write(f"%package -n bi-{i:04d}\nSummary: part {i}\nVendor: Benchmark Vendor\n%description -n bi-{i:04d}\nPart {i}.\n")
    out.write("%install\ntar -C / -cf - -T %{_sourcedir}/files.txt | tar -C %{buildroot} -xf -\n")
    for i, chunk in enumerate(chunks):
        out.write(f"%files -n bi-{i:04d}\n%defattr(-,root,root,-)\n")
        out.writelines(p + "\n" for p in chunk)
EOF
    echo "building $(wc -l < "$dir/top/SOURCES/files.txt") files into RPMs..." >&2
    rpmbuild -bb --quiet \
      --define "_topdir $dir/top" --define "_rpmdir $dir/rpms" \
      --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
      --define "_binary_payload w0.ufdio" --define "_buildhost bench.example.org" \
      "$dir/top/bench-image.spec" 2> "$dir/rpmbuild.log" || { cat "$dir/rpmbuild.log" >&2; exit 1; }
    echo "installing into $root..." >&2
    rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature "$dir"/rpms/*.rpm 2>&1 \
      | grep -v 'should not be used directly\|assuming you know' >&2 || true
    mkdir -p "$root/etc"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
    printf 'root:x:0:\n' > "$root/etc/group"
    rm -rf "$dir/rpms" "$dir/top/BUILDROOT" "$dir/top/BUILD"
    touch "$root/.complete"
  fi
fi
files=$(find "$root" -type f | wc -l)
echo "root: $root — $files regular files, $(du -sh "$root" | cut -f1)" >&2

# --- 2. the layout ---------------------------------------------------------------------------
layout="$dir/layout"
if [ ! -e "$dir/.layout-complete" ]; then
  rm -rf "$layout" "$dir/layers"
  mkdir -p "$dir/layers"
  (cd "$root" && find . -mindepth 1 -type d -print | LC_ALL=C sort > "$dir/layers/dirs"
   find . -mindepth 1 ! -type d ! -name .complete -print | LC_ALL=C sort > "$dir/layers/rest")
  split -n "l/$layers" -d "$dir/layers/rest" "$dir/layers/chunk."
  umoci init --layout "$layout"
  umoci new --image "$layout:bench"
  i=0
  for chunk in "$dir"/layers/chunk.*; do
    list="$chunk"
    if [ "$i" = 0 ]; then cat "$dir/layers/dirs" "$chunk" > "$chunk.with-dirs"; list="$chunk.with-dirs"; fi
    tar --create --file "$dir/layers/layer.tar" --format=pax --xattrs --xattrs-include=security.capability \
      --numeric-owner --no-recursion --verbatim-files-from -C "$root" -T "$list"
    umoci raw add-layer --image "$layout:bench" --history.created_by "COPY part $i" "$dir/layers/layer.tar"
    rm -f "$dir/layers/layer.tar"
    i=$((i + 1))
  done
  # The tampering layer: one library rewritten (a byte flipped), one header whited out.
  stage="$dir/layers/stage"
  lib=$(cd "$root" && { find ./usr -name '*.so*' -type f; find ./usr -type f -size +1k; } | head -1 || true)
  hdr=$(cd "$root" && find ./usr -name '*.h' -type f | LC_ALL=C sort | head -1 || true)
  mkdir -p "$stage/$(dirname "$lib")"
  cp -a "$root/$lib" "$stage/$lib"
  python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0xff; open(p,"wb").write(b)' "$stage/$lib"
  if [ -n "$hdr" ]; then
    mkdir -p "$stage/$(dirname "$hdr")"
    : > "$stage/$(dirname "$hdr")/.wh.$(basename "$hdr")"
  fi
  tar --create --file "$dir/layers/layer.tar" --format=pax --numeric-owner -C "$stage" .
  umoci raw add-layer --image "$layout:bench" --history.created_by "RUN tamper" "$dir/layers/layer.tar"
  rm -rf "$dir/layers"
  touch "$dir/.layout-complete"
fi
blobs="$dir/layer-blobs.txt"
python3 - "$layout" "$blobs" <<'EOF'
import json, sys
layout, out = sys.argv[1], sys.argv[2]
index = json.load(open(f"{layout}/index.json"))
m = next(m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bench")
manifest = json.load(open(f"{layout}/blobs/sha256/{m['digest'].split(':')[1]}"))
with open(out, "w") as f:
    for l in manifest["layers"]:
        f.write(f"{layout}/blobs/sha256/{l['digest'].split(':')[1]}\n")
EOF
echo "layout: $layout:bench — $(wc -l < "$blobs") layers, $(du -sh "$layout" | cut -f1) compressed" >&2

# --- 3. oci-archive and registry -------------------------------------------------------------
archive="$dir/image.oci.tar"
[ -e "$archive" ] || skopeo --insecure-policy copy --quiet "oci:$layout:bench" "oci-archive:$archive:bench"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/registry"
cat > "$dir/registry/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/registry/storage
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$dir/registry/config.yml" > "$dir/registry/log" 2>&1 &
registry_pid=$!
bundle_tmp=""
cleanup() {
  kill "$registry_pid" 2>/dev/null || true
  wait "$registry_pid" 2>/dev/null || true
  [ -z "$bundle_tmp" ] || rm -rf "$bundle_tmp"
}
trap cleanup EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
docker_ref="docker://127.0.0.1:$port/bench/image:bench"
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$layout:bench" "$docker_ref"

# --- 4. the oracle's tree, and the same answers ----------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p scanner-rpm-verify --bins
  BIN="$CARGO_TARGET_DIR/release"
fi
bundle="$dir/bundle"
[ -e "$bundle/rootfs/var/lib/rpm" ] || { rm -rf "$bundle"; umoci unpack --image "$layout:bench" "$bundle" > /dev/null; }
rpm_out="$dir/rpm-va.txt"
rpm --root "$bundle/rootfs" --dbpath /var/lib/rpm -Va --nodeps > "$rpm_out" || true
"$BIN/rpm-va" --ignore-acls "$bundle/rootfs" > "$dir/ours-va.txt" || true
if ! cmp -s "$rpm_out" "$dir/ours-va.txt"; then
  echo "image-verify: rpm-va and rpm -Va disagree on $bundle/rootfs:" >&2
  diff "$rpm_out" "$dir/ours-va.txt" >&2 || true
  exit 1
fi
scan() { "$BIN/scanner-rpm-verify" --scan-type rpm-verify-all "$@"; }
scan --rootfs "$bundle/rootfs" > "$dir/rootfs.json"
scan --image "oci-archive:$archive:bench" > "$dir/archive.json"
scan --image "$docker_ref" --tls-verify=false > "$dir/docker.json"
python3 - "$dir" <<'EOF'
import json, sys
d = sys.argv[1]
def issues(name):
    doc = json.load(open(f"{d}/{name}.json"))
    if doc.get("Successful") != "true":
        sys.exit(f"image-verify: {name}: {doc.get('Error')}")
    return [(i["filename"], i["issue"]) for i in doc["Scan Results"]["rpmVa_issues"]]
want = issues("rootfs")
for name in ("archive", "docker"):
    if issues(name) != want:
        sys.exit(f"image-verify: --image ({name}) and --rootfs disagree")
print(f"same findings: {len(want)} (--rootfs, --image oci-archive, --image docker)", file=sys.stderr)
EOF
echo "rpm -Va: $(wc -l < "$rpm_out") lines, the same from rpm-va" >&2

# --- 5. interleaved rounds -------------------------------------------------------------------
cores=$(nproc)
unpack_va="sh -c 'b=\$(mktemp -d -p $dir); umoci unpack --image $layout:bench \$b/bundle > /dev/null; rpm --root \$b/bundle/rootfs --dbpath /var/lib/rpm -Va --nodeps > /dev/null; rm -rf \$b; exit 0'"
zcat_bound="sh -c 'xargs -a $blobs -P $cores -n 1 zcat > /dev/null'"
echo "== $(wc -l < "$blobs") layers, $files files; $cores cores; $rounds rounds" >&2
python3 bench/interleave.py --rounds "$rounds" --warmup 1 \
  "--image oci-archive=$BIN/scanner-rpm-verify --scan-type rpm-verify-all --image oci-archive:$archive:bench" \
  "--image docker://=$BIN/scanner-rpm-verify --scan-type rpm-verify-all --image $docker_ref --tls-verify=false" \
  "--rootfs (unpacked)=$BIN/scanner-rpm-verify --scan-type rpm-verify-all --rootfs $bundle/rootfs" \
  "umoci unpack + rpm -Va=$unpack_va" \
  "zcat layers ($cores procs)=$zcat_bound"

# --- 6. peak RSS -----------------------------------------------------------------------------
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
echo "peak RSS (KiB):"
echo "  --image oci-archive      $(rss "$BIN/scanner-rpm-verify" --scan-type rpm-verify-all --image "oci-archive:$archive:bench")"
echo "  --image docker://        $(rss "$BIN/scanner-rpm-verify" --scan-type rpm-verify-all --image "$docker_ref" --tls-verify=false)"
echo "  --rootfs (unpacked)      $(rss "$BIN/scanner-rpm-verify" --scan-type rpm-verify-all --rootfs "$bundle/rootfs")"
bundle_tmp=$(mktemp -d -p "$dir")
echo "  umoci unpack             $(rss umoci unpack --image "$layout:bench" "$bundle_tmp/bundle")"
echo "  rpm -Va                  $(rss sh -c "rpm --root $bundle_tmp/bundle/rootfs --dbpath /var/lib/rpm -Va --nodeps; exit 0")"
echo "  zcat (largest layer)     $(rss zcat "$(xargs -a "$blobs" ls -S | head -1)")"
