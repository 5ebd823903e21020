#!/usr/bin/env bash
# Each database format reader on real databases, against Debian's rpm in the same run.
#
#   bench/rpmdb-formats.sh            # needs: cargo, rpm, db5.3-util, python3
#
# Databases (tests/fixtures): the Amazon Linux 2023 image's rpmdb.sqlite (103 packages, 7,800
# files, headers up to 390 KiB), CBL-Mariner 2.0's (129 packages, 7,269 files), the Amazon
# Linux headers rewritten as a Berkeley DB hash `Packages` by db5.3_load, and the SLES 15 BCI
# Packages.db (NDB; Debian's rpm cannot read NDB, so that row has no reference). Unlike the
# 500 generated packages of bench/rpmdb.sh, these are real headers: signatures, changelogs,
# dependencies, and a few packages of thousands of files.
# Timed with bench/interleave.py (ROUNDS=40): `rpmdb-query --dbfile F [--files]` (the static
# release build) against `rpm --dbpath D -qa`, and with files against `rpm -qa --qf '[files]'`.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpm db5.3_load python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -q --target x86_64-unknown-linux-gnu \
  -p rpmdb-query --bin rpmdb-query
q="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/rpmdb-query"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sqlite" "$work/mariner" "$work/bdb"
cp tests/fixtures/rpmdb/amazonlinux2023-plain-sqlite/rpmdb.sqlite "$work/sqlite/"
cp tests/fixtures/rpmdb/cbl-mariner-2.0/rpmdb.sqlite "$work/mariner/"
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
cmp <("$q" --dbfile "$work/sqlite/rpmdb.sqlite" | sort) <(rpm --dbpath "$work/sqlite" -qa --qf "$nevra" | sort)
cmp <("$q" --dbfile "$work/mariner/rpmdb.sqlite" | sort) <(rpm --dbpath "$work/mariner" -qa --qf "$nevra" | sort)
cmp <("$q" --dbfile "$work/bdb/Packages" | sort) <(rpm --dbpath "$work/bdb" "${bdb[@]}" -qa --qf "$nevra" 2>/dev/null | sort)

rounds=${ROUNDS:-40}
. bench/listing-rounds.sh
listing_rounds "Amazon Linux 2023, SQLite" "$q --dbfile $work/sqlite/rpmdb.sqlite" \
  "rpm --dbpath $work/sqlite" "$files_qf"
listing_rounds "CBL-Mariner 2.0, SQLite" "$q --dbfile $work/mariner/rpmdb.sqlite" \
  "rpm --dbpath $work/mariner" "$files_qf"
listing_rounds "Amazon Linux 2023 headers, Berkeley DB" "$q --dbfile $work/bdb/Packages" \
  "rpm --dbpath $work/bdb --define '_db_backend bdb_ro'" "$files_qf"
echo
echo "== SLES 15 BCI, NDB (35 packages; no reference: Debian's rpm has no NDB backend)"
python3 bench/interleave.py --rounds "$rounds" "ours=$q --dbfile tests/fixtures/rpmdb/sle15-bci/Packages.db" \
  "ours --files=$q --files --dbfile tests/fixtures/rpmdb/sle15-bci/Packages.db"
