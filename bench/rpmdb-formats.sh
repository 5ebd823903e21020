#!/usr/bin/env bash
# Reading speed of each database format reader against Debian's rpm, in the same run.
#
#   bench/rpmdb-formats.sh            # needs: cargo, rpm, db5.3-util, python3, hyperfine
#
# Databases: the Amazon Linux 2023 image's rpmdb.sqlite (103 packages, tests/fixtures), the
# same 103 headers rewritten as a Berkeley DB hash `Packages` by db5.3_load, and the SLES 15
# BCI Packages.db (NDB; Debian's rpm cannot read NDB, so that row has no reference).
# Each pair runs `rpmdb-query --dbfile F` (release build) against `rpm --dbpath D -qa`,
# once listing packages only and once with every file's metadata; hyperfine prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpm db5.3_load python3 hyperfine; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p rpmdb --bin rpmdb-query
q="$CARGO_TARGET_DIR/release/rpmdb-query"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sqlite" "$work/bdb"
cp tests/fixtures/rpmdb/amazonlinux2023-plain-sqlite/rpmdb.sqlite "$work/sqlite/"
# db_load's input: key 0 (rpm's counter), then each header under its number (little-endian).
python3 - "$work" <<'EOF'
import sqlite3, struct, sys
work = sys.argv[1]
c = sqlite3.connect(f"file:{work}/sqlite/rpmdb.sqlite?immutable=1", uri=True)
rows = c.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
with open(f"{work}/load.txt", "w") as f:
    f.write("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n")
    f.write(f" {struct.pack('<I', 0).hex()}\n {struct.pack('<I', rows[-1][0] + 1).hex()}\n")
    for hnum, blob in rows:
        f.write(f" {struct.pack('<I', hnum).hex()}\n {blob.hex()}\n")
    f.write("DATA=END\n")
EOF
db5.3_load -t hash -f "$work/load.txt" "$work/bdb/Packages"

files_qf='[%{FILENAMES} %{FILEMODES:octal} %{FILEDIGESTS} %{FILESIZES} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS}\n]'
bdb=(--define '_db_backend bdb_ro')

# Same output first, so that the timings compare equal work.
nevra='%{NAME} %|EPOCH?{%{EPOCH}}:{(none)}| %{VERSION} %{RELEASE} %{ARCH}\n'
cmp <("$q" --dbfile "$work/sqlite/rpmdb.sqlite") <(rpm --dbpath "$work/sqlite" -qa --qf "$nevra")
cmp <("$q" --dbfile "$work/bdb/Packages") <(rpm --dbpath "$work/bdb" "${bdb[@]}" -qa --qf "$nevra" 2>/dev/null)

hyperfine -N -w 3 -r 30 \
  -n "ours sqlite" "$q --dbfile $work/sqlite/rpmdb.sqlite" \
  -n "rpm sqlite" "rpm --dbpath $work/sqlite -qa"
hyperfine -N -w 3 -r 30 \
  -n "ours sqlite + files" "$q --files --dbfile $work/sqlite/rpmdb.sqlite" \
  -n "rpm sqlite + files" "rpm --dbpath $work/sqlite -qa --qf '$files_qf'"
hyperfine -N -w 3 -r 30 \
  -n "ours bdb" "$q --dbfile $work/bdb/Packages" \
  -n "rpm bdb_ro" "rpm --dbpath $work/bdb --define '_db_backend bdb_ro' -qa"
hyperfine -N -w 3 -r 30 \
  -n "ours ndb (35 packages, no rpm reference)" "$q --dbfile tests/fixtures/rpmdb/sle15-bci/Packages.db"
