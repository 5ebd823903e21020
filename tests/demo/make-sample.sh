#!/usr/bin/env bash
# Build the demo sample in OUTDIR from the repository's own files (tests/demo/README.md):
#
#   OUTDIR/layout  an OCI layout, tag `demo`, three layers made with umoci:
#                    1. RUN rpm -i centos-release curl   the real CentOS 7 packages of
#                       tests/fixtures/rpms, installed by the real rpm
#                    2. RUN patch /usr/bin/curl          /usr/bin/curl with bytes appended
#                    3. RUN rm -rf /usr/share/man        a whiteout of the man pages
#   OUTDIR/repo    a yum repository (createrepo_c, modifyrepo_c) offering the update
#                  curl-7.29.0-59.el7_9.1.x86_64 (a stand-in built from
#                  tests/demo/curl-stand-in.spec) and its advisory CESA-2020:5002
#                  (tests/demo/updateinfo.xml)
#
# Usage: tests/demo/make-sample.sh OUTDIR
#
# OUTDIR is created. If it exists it must be empty or hold the marker file this script
# writes first (OUTDIR/.atomic-scanners-demo-sample): only then is it removed and made
# again. Needs the Debian packages rpm (rpm, rpmbuild), createrepo-c and umoci (.ci/deps,
# `make deps`), and root (rpm --root and umoci keep the packages' owners).
set -euo pipefail

MARKER=.atomic-scanners-demo-sample
# The advisory's date (2020-11-18 17:30:30 UTC): the stand-in's build time, every mtime in
# its payload and in the repository, the repository's revision. With it the stand-in RPM
# and the repository metadata are the same bytes on every run.
EPOCH=1605720630

die() { echo "make-sample.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] && [ -n "$1" ] || die "usage: $0 OUTDIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(realpath -m -- "$1")
[ "$out" != / ] || die "refusing OUTDIR /"

missing=()
for t in rpm:rpm rpmbuild:rpm createrepo_c:createrepo-c modifyrepo_c:createrepo-c umoci:umoci; do
  command -v "${t%%:*}" >/dev/null || missing+=("${t%%:*} (Debian package ${t#*:})")
done
[ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]}; run \`make deps\` (.ci/deps)"

release_rpm="$top/tests/fixtures/rpms/centos7-centos-release/centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"
curl_rpm="$top/tests/fixtures/rpms/centos7-curl/curl-7.29.0-59.el7.x86_64.rpm"
spec="$here/curl-stand-in.spec"
updateinfo="$here/updateinfo.xml"
for f in "$release_rpm" "$curl_rpm" "$spec" "$updateinfo"; do
  [ -f "$f" ] || die "missing $f"
done

# Remove OUTDIR only when this script made it (the marker is there); else it must be empty.
if [ -e "$out" ] || [ -L "$out" ]; then
  [ -d "$out" ] && [ ! -L "$out" ] || die "$out exists and is not a directory"
  if [ -f "$out/$MARKER" ]; then
    rm -rf -- "$out"
  elif [ -n "$(ls -A -- "$out")" ]; then
    die "$out is not empty and has no $MARKER: not made by this script, left alone"
  fi
fi
mkdir -p -- "$out"
printf 'made by atomic-scanners tests/demo/make-sample.sh; the script removes this folder when run again\n' \
  >"$out/$MARKER"

work="$out/work"
mkdir -p "$work/root" "$work/step2/usr/bin" "$work/home"

# Layer 1: the real packages, installed by the real rpm into the image's root, with the
# database where CentOS keeps it. (--force-debian only silences Debian's rpm's warning
# about installing RPMs on Debian.)
debian_flag=()
if rpm --help 2>/dev/null | grep -- --force-debian >/dev/null; then debian_flag=(--force-debian); fi
rpm "${debian_flag[@]}" --root "$work/root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature \
  "$release_rpm" "$curl_rpm"

# Layer 2: /usr/bin/curl changed after installation; every mtime of the layer fixed.
cp -p "$work/root/usr/bin/curl" "$work/step2/usr/bin/curl"
printf 'tampered\n' >>"$work/step2/usr/bin/curl"
find "$work/step2" -exec touch -h -d "@$EPOCH" {} +

# The image.
(
  cd "$out"
  umoci init --layout layout
  umoci new --image layout:demo
  umoci insert --image layout:demo --history.created_by 'RUN rpm -i centos-release curl' "$work/root" /
  umoci insert --image layout:demo --history.created_by 'RUN patch /usr/bin/curl' "$work/step2" /
  umoci insert --image layout:demo --whiteout --history.created_by 'RUN rm -rf /usr/share/man' /usr/share/man
  umoci gc --layout layout   # the blobs of the intermediate manifests and configs
)

# The stand-in update, built reproducibly: private HOME (no ~/.rpmmacros), fixed build
# host, build time and mtimes.
HOME="$work/home" SOURCE_DATE_EPOCH=$EPOCH rpmbuild -bb --quiet \
  --define "_topdir $work/rpmbuild" \
  --define "_buildhost demo.invalid" \
  --define "use_source_date_epoch_as_buildtime 1" \
  --define "clamp_mtime_to_source_date_epoch 1" \
  "$spec" >/dev/null
built="$work/rpmbuild/RPMS/x86_64/curl-7.29.0-59.el7_9.1.x86_64.rpm"
[ -f "$built" ] || die "rpmbuild made no $built"

# The repository: the package, primary/filelists/other (createrepo_c), then the
# advisory (modifyrepo_c), every time stamp fixed: the repository is the same bytes each run.
mkdir -p "$out/repo"
cp "$built" "$out/repo/"
touch -d "@$EPOCH" "$out/repo/"*.rpm
createrepo_c --quiet --no-database --simple-md-filenames --general-compress-type=gz \
  --revision "$EPOCH" --set-timestamp-to-revision "$out/repo"
cp "$updateinfo" "$work/updateinfo.xml"
touch -d "@$EPOCH" "$work/updateinfo.xml"
modifyrepo_c --mdtype=updateinfo --simple-md-filenames "$work/updateinfo.xml" "$out/repo/repodata"
# modifyrepo_c stamps the entry with the time it wrote the file; nothing checksums repomd.xml.
touch -d "@$EPOCH" "$out/repo/repodata/updateinfo.xml.gz"
sed -i '/<data type="updateinfo">/,/<\/data>/ s|<timestamp>[0-9]*</timestamp>|<timestamp>'"$EPOCH"'</timestamp>|' \
  "$out/repo/repodata/repomd.xml"

rm -rf -- "$work"
echo "sample in $out: layout (oci:$out/layout:demo) and repo (file://$out/repo)"
