#!/usr/bin/env bash
# Listing every installed package with its file metadata: our `rpmdb-query --root R --files`
# (static release build) against Debian's rpm on the same root, in the same run.
#
#   bench/rpmdb.sh [CACHE_DIR]        # default /tmp/rpmdb-bench
#   PACKAGES=500 FILES=20 bench/rpmdb.sh
#
# Needs: cargo, rpm + rpmbuild (rpm), db5.3_load (db5.3-util), python3, GNU time.
#
# The root is built once and cached in CACHE_DIR: one rpmbuild of PACKAGES subpackages with
# FILES files each (bench/rpmdb-root.py writes the spec: realistic headers with provides,
# requires, a changelog, config/doc/license files and a symlink), installed with
# `rpm --root R --dbpath /var/lib/rpm -i` (SQLite), plus a copy of the same headers as a
# little-endian Berkeley DB `Packages` written by db5.3_load (read by rpm with bdb_ro).
#
# Timed with bench/interleave.py (ROUNDS=40 interleaved rounds, output to /dev/null), per
# database:
#   ours  rpmdb-query --root R               rpm -qa
#   ours  rpmdb-query --root R --files       rpm -qa    and    rpm -qa --qf '[files]'
# then peak RSS of each command (GNU time -f %M). The lists are checked equal first.
# Reported: median CPU (user+sys) and wall times, and the median of the per-round ratios
# rpm / ours; on a shared machine the CPU ratio is the steadier figure.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpm rpmbuild db5.3_load python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (see the header of $0)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (Debian package: time)" >&2; exit 2; }

n=${PACKAGES:-500}
f=${FILES:-20}
cache=${1:-/tmp/rpmdb-bench}
base="$cache/root-$n-$f"
sqlite_root="$base/sqlite"
bdb_root="$base/bdb"

if [ ! -e "$base/.complete" ]; then
  echo "bench: building a root of $n packages x $f files in $base (once)" >&2
  rm -rf "$base"
  mkdir -p "$base/top" "$sqlite_root" "$bdb_root/var/lib/rpm"
  python3 bench/rpmdb-root.py "$n" "$f" > "$base/top/bench.spec"
  rpmbuild -bb --quiet \
    --define "_topdir $base/top" --define "_rpmdir $base/rpms" \
    --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
    --define '_binary_payload w1.gzdio' --define '_buildhost bench.example.org' \
    "$base/top/bench.spec"
  rpm --root "$sqlite_root" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature \
    "$base"/rpms/*.rpm 2> >(grep -v 'should not be used directly\|assuming you know' >&2)
  # The same headers as a Berkeley DB hash: key 0 is rpm's counter, then each header number
  # (little-endian, as written on x86_64).
  python3 - "$sqlite_root/var/lib/rpm/rpmdb.sqlite" "$base/load.txt" <<'PY'
import sqlite3, struct, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = c.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
with open(sys.argv[2], "w") as f:
    f.write("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n")
    f.write(f" {struct.pack('<I', 0).hex()}\n {struct.pack('<I', rows[-1][0] + 1).hex()}\n")
    for hnum, blob in rows:
        f.write(f" {struct.pack('<I', hnum).hex()}\n {blob.hex()}\n")
    f.write("DATA=END\n")
PY
  db5.3_load -f "$base/load.txt" "$bdb_root/var/lib/rpm/Packages"
  rm -rf "$base/load.txt" "$base/top"
  touch "$base/.complete"
fi

# The binary as shipped: static, like `make build` (glibc crt-static; no dynamic loader at start).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -q --target x86_64-unknown-linux-gnu \
  -p rpmdb-query --bin rpmdb-query
q="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/rpmdb-query"

files_qf='[%{FILENAMES} %{FILEMODES} %{FILEDIGESTS} %{FILESIZES}\n]'
nevra='%{NAME} %|EPOCH?{%{EPOCH}}:{(none)}| %{VERSION} %{RELEASE} %{ARCH}\n'
rpm_s=(rpm --root "$sqlite_root" --dbpath /var/lib/rpm)
rpm_b=(rpm --root "$bdb_root" --dbpath /var/lib/rpm --define '_db_backend bdb_ro')

# Same work on both sides: the same package list, the same number of files.
cmp <("$q" --root "$sqlite_root" | sort) <("${rpm_s[@]}" -qa --qf "$nevra" | sort)
cmp <("$q" --root "$bdb_root" | sort) <("${rpm_b[@]}" -qa --qf "$nevra" 2>/dev/null | sort)
ours_files=$("$q" --root "$sqlite_root" --files | grep -c '^  ')
rpm_files=$("${rpm_s[@]}" -qa --qf "$files_qf" | wc -l)
[ "$ours_files" = "$rpm_files" ] || { echo "bench: $ours_files files listed by us, $rpm_files by rpm" >&2; exit 1; }
echo "root: $n packages, $rpm_files files; SQLite $(du -h "$sqlite_root/var/lib/rpm/rpmdb.sqlite" | cut -f1), BDB $(du -h "$bdb_root/var/lib/rpm/Packages" | cut -f1)"

# Interleaved rounds (bench/interleave.py): every command once per round, so that a slow
# spell of the machine falls on all of them; ratios are taken within each round.
rounds=${ROUNDS:-40}
. bench/listing-rounds.sh
listing_rounds sqlite "$q --root $sqlite_root" "rpm --root $sqlite_root --dbpath /var/lib/rpm" "$files_qf"
listing_rounds bdb "$q --root $bdb_root" \
  "rpm --root $bdb_root --dbpath /var/lib/rpm --define '_db_backend bdb_ro'" "$files_qf"

echo
echo "== peak RSS (KiB)"
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "ours --files sqlite:    $(rss "$q" --root "$sqlite_root" --files)"
echo "rpm -qa --qf sqlite:    $(rss "${rpm_s[@]}" -qa --qf "$files_qf")"
echo "ours --files bdb:       $(rss "$q" --root "$bdb_root" --files)"
echo "rpm -qa --qf bdb:       $(rss "${rpm_b[@]}" -qa --qf "$files_qf")"
