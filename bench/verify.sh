#!/usr/bin/env bash
# scanner-rpm-verify against rpm -Va, and against just reading and hashing the same bytes on
# every core, in the same run, on a warm page cache.
#
#   bench/verify.sh [DIR]      # needs: cargo, rpm, rpmbuild, python3, hyperfine, openssl, GNU time
#
# The root (DIR/root, default /var/tmp/rpm-verify-bench) is built once by
# bench/verify-root.sh: ≥ 1 GB in ≥ 50,000 packaged files of real binaries and libraries,
# with a few tampered files. The script
#   1. checks that `rpm-va` (this crate's rpm -Va) prints exactly what `rpm -Va` prints;
#   2. times, with hyperfine: `scanner-rpm-verify --rootfs ROOT --scan-type rpm-verify-all`
#      (the JSON document, as atomic gets it), `rpm --root ROOT -Va --nodeps`, and the two
#      read-and-hash baselines over the root's regular files, split over $(nproc) processes:
#      OpenSSL's SHA-256 (SHA-NI where the CPU has it) and coreutils' sha256sum;
#   3. reports peak resident memory of ours and of rpm (GNU time's %M).
# The ratios are printed by hyperfine ("... times faster than ...").
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/var/tmp/rpm-verify-bench}"
root="$dir/root"
for tool in cargo rpm python3 hyperfine openssl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
bench/verify-root.sh "$dir"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p scanner-rpm-verify --bins
bin="$CARGO_TARGET_DIR/release"
cores=$(nproc)

list=$(mktemp)
trap 'rm -f "$list"' EXIT
find "$root" -path "$root/var" -prune -o -type f -print0 > "$list"
files=$(tr -cd '\0' < "$list" | wc -c)
bytes=$(xargs -0 -a "$list" stat -c %s | awk '{s += $1} END {print s}')
echo "root: $root — $files regular files, $((bytes / 1024 / 1024)) MiB; $cores cores" >&2

# Warm the page cache, then the same answer from both sides.
xargs -0 -a "$list" -P "$cores" -n 1000 cat > /dev/null
rpm_out=$(mktemp)
ours_out=$(mktemp)
rpm --root "$root" --dbpath /var/lib/rpm -Va --nodeps > "$rpm_out" || true
"$bin/rpm-va" --ignore-acls "$root" > "$ours_out" || true
if ! cmp -s "$rpm_out" "$ours_out"; then
  echo "bench: rpm-va and rpm -Va disagree:" >&2
  diff "$rpm_out" "$ours_out" >&2 || true
  exit 1
fi
echo "same output: $(wc -l < "$rpm_out") lines" >&2
rm -f "$rpm_out" "$ours_out"

hyperfine -N -i --warmup 1 --runs "${RUNS:-5}" \
  -n "scanner-rpm-verify" "$bin/scanner-rpm-verify --rootfs $root --scan-type rpm-verify-all" \
  -n "rpm -Va" "rpm --root $root --dbpath /var/lib/rpm -Va --nodeps" \
  -n "read+hash (openssl sha256, $cores procs)" "sh -c 'xargs -0 -a $list -P $cores -n 2000 openssl dgst -sha256 -r > /dev/null'"
hyperfine -N -i --warmup 0 --runs "${RUNS_SLOW:-2}" \
  -n "scanner-rpm-verify" "$bin/scanner-rpm-verify --rootfs $root --scan-type rpm-verify-all" \
  -n "read+hash (coreutils sha256sum, $cores procs)" "sh -c 'xargs -0 -a $list -P $cores -n 2000 sha256sum > /dev/null'"

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
echo "peak RSS: scanner-rpm-verify $(rss "$bin/scanner-rpm-verify" --rootfs "$root" --scan-type rpm-verify-all) KiB," \
  "rpm -Va $(rss rpm --root "$root" --dbpath /var/lib/rpm -Va --nodeps) KiB"
