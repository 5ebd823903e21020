#!/usr/bin/env bash
# Build the root filesystem bench/verify.sh verifies: real binaries and libraries of this
# machine (/usr/lib/x86_64-linux-gnu, /usr/bin, /usr/sbin, /usr/libexec, the Google Cloud SDK's
# Python tree, /usr/include, Python and Perl libraries) packaged by the real rpmbuild into
# ~200 RPMs of ~256 files each, and installed by the real rpm into a fresh root — at least
# 1 GB in at least 50,000 packaged files. A few files are then changed (a library rewritten,
# a binary made setuid, a header removed) so that rpm -Va has something to say.
#
#   bench/verify-root.sh [DIR]     # default DIR: /var/tmp/rpm-verify-bench; the root is DIR/root
#
# Needs rpm, rpmbuild, python3, tar. Takes a few minutes and ~2x the root's size on disk;
# later runs reuse DIR/root.
#
# The script deletes only what it made. DIR must not exist (it is then created and marked as
# this script's with DIR/.verify-root-owner, which holds a token of its own), or be an empty
# directory (marked the same way), or be a directory this script marked. A finished root
# carries the same token in DIR/root/.complete. Anything else — a folder with other content
# and no marker, a symlink, a marker that is not this script's — is refused before any work,
# with exit status 3, and nothing is deleted; delete such a folder yourself. Inside a marked
# DIR, an unfinished build's DIR/root, DIR/top, DIR/rpms and DIR/files.txt are removed before
# it is built again; DIR itself and anything else in it are never deleted.
set -euo pipefail
dir="${1:-/var/tmp/rpm-verify-bench}"
root="$dir/root"
marker="$dir/.verify-root-owner"
magic="atomic-scanners bench/verify-root.sh"
refuse() {
  echo "verify-root: refusing $dir: $1; nothing was deleted (delete it yourself, or pass a new DIR)" >&2
  exit 3
}
# The token of a marker this script wrote, or nothing.
token_of() {
  [ -f "$marker" ] && [ ! -L "$marker" ] || return 0
  { read -r first && read -r label token; } < "$marker" || return 0
  [ "$first" = "$magic" ] && [ "$label" = token ] && [ -n "$token" ] && printf '%s' "$token"
  return 0
}
if [ -L "$dir" ]; then
  refuse "it is a symlink"
elif [ -e "$dir" ] && [ ! -d "$dir" ]; then
  refuse "it is not a directory"
elif [ -d "$dir" ]; then
  token=$(token_of)
  if [ -z "$token" ]; then
    if [ -e "$marker" ] || [ -L "$marker" ]; then
      refuse "its $(basename "$marker") was not written by this script"
    elif [ -n "$(ls -A "$dir")" ]; then
      refuse "it was not made by this script (no $(basename "$marker")) and is not empty"
    fi
  elif [ -f "$root/.complete" ] && [ ! -L "$root/.complete" ] && [ "$(cat "$root/.complete")" = "$token" ]; then
    echo "bench root: $root (exists)" >&2
    exit 0
  fi
else
  mkdir -p "$(dirname "$dir")"
  mkdir "$dir"
fi
for tool in rpm rpmbuild python3 tar; do
  command -v "$tool" >/dev/null || { echo "verify-root: $tool is missing" >&2; exit 2; }
done
if [ -z "${token:-}" ]; then
  # A new (or empty) folder: mark it as this script's before anything is put in it.
  token="$(date -u +%Y%m%dT%H%M%SZ)-$$-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\ntoken %s\n' "$magic" "$token" > "$marker"
fi
# An unfinished build of ours: remove only the parts this script makes.
rm -rf "$root" "$dir/top" "$dir/rpms" "$dir/files.txt"
mkdir -p "$dir/top" "$dir/rpms" "$root"

sources=(/usr/lib/x86_64-linux-gnu /usr/bin /usr/sbin /usr/libexec /usr/lib/google-cloud-sdk/lib
         /usr/include /usr/lib/python3 /usr/lib/python3.11 /usr/share/perl)
existing=()
for s in "${sources[@]}"; do [ -d "$s" ] && existing+=("$s"); done

# Regular files and symlinks whose names rpm's %files can take literally.
find "${existing[@]}" \( -type f -o -type l \) -print | LC_ALL=C sort \
  | grep -E '^[A-Za-z0-9_./+@=,:-]+$' > "$dir/files.txt"

python3 - "$dir/files.txt" "$dir/top/bench-verify.spec" <<'EOF'
import sys
files = [l.rstrip("\n") for l in open(sys.argv[1])]
per = 256
chunks = [files[i:i + per] for i in range(0, len(files), per)]
with open(sys.argv[2], "w") as out:
    out.write("""%global __os_install_post %{nil}
%define _build_id_links none
%define debug_package %{nil}
%define _unpackaged_files_terminate_build 0
Name: bench-verify
Version: 1.0
Release: 1
Summary: Benchmark root for scanner-rpm-verify
License: various
AutoReqProv: no
%description
Real binaries and libraries, repackaged.
""")
    for i, _ in enumerate(chunks):
        out.write(f"""%package -n bv-{i:04d}
Summary: Benchmark package {i}
Vendor: Benchmark Vendor
Packager: Benchmark Packager <bench@example.org>
%description -n bv-{i:04d}
Part {i} of the benchmark root.
""")
    out.write("%install\ntar -C / -cf - -T %{_sourcedir}/files.txt | tar -C %{buildroot} -xf -\n")
    for i, chunk in enumerate(chunks):
        out.write(f"%files -n bv-{i:04d}\n%defattr(-,root,root,-)\n")
        out.writelines(p + "\n" for p in chunk)
EOF
mkdir -p "$dir/top/SOURCES"
cp "$dir/files.txt" "$dir/top/SOURCES/files.txt"

echo "building $(wc -l < "$dir/files.txt") files into RPMs..." >&2
rpmbuild -bb --quiet \
  --define "_topdir $dir/top" \
  --define "_rpmdir $dir/rpms" \
  --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
  --define "_binary_payload w0.ufdio" \
  --define "_buildhost bench.example.org" \
  "$dir/top/bench-verify.spec"
rm -rf "$dir/top/BUILDROOT" "$dir/top/BUILD"

echo "installing into $root..." >&2
mkdir -p "$root/var/lib/rpm"
rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature "$dir"/rpms/*.rpm
rm -rf "$dir/rpms"

# Something for rpm -Va to report.
first_lib=$(grep -m1 '^/usr/lib/x86_64-linux-gnu/.*\.so' "$dir/files.txt")
python3 - "$root$first_lib" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(b)
EOF
chmod u+s "$(find "$root/usr/bin" -maxdepth 1 -type f | LC_ALL=C sort | head -1)"
rm -f "$root$(grep -m1 '^/usr/include/.*\.h$' "$dir/files.txt")"

printf '%s' "$token" > "$root/.complete"
echo "bench root: $root, $(du -sh --exclude=var "$root" | cut -f1) in $(wc -l < "$dir/files.txt") packaged files" >&2
