# Sourced by bench/rpmdb.sh and bench/rpmdb-formats.sh: the interleaved rounds (see
# bench/interleave.py) that time one database's listings against rpm.
#
#   listing_rounds LABEL OURS RPM FILES_QF
#
# OURS is our listing command without --files, RPM the rpm command up to -qa, FILES_QF the
# --qf format rpm lists files with. Uses $rounds (ROUNDS, default 40).

listing_rounds() {
  local label=$1 ours=$2 rpm=$3 files_qf=$4
  echo
  echo "== $label: listing packages only"
  python3 bench/interleave.py --rounds "${rounds:-40}" "ours=$ours" "rpm -qa=$rpm -qa"
  echo "== $label: listing every file's metadata too"
  python3 bench/interleave.py --rounds "${rounds:-40}" "ours --files=$ours --files" \
    "rpm -qa=$rpm -qa" "rpm -qa --qf [files]=$rpm -qa --qf '$files_qf'"
}
