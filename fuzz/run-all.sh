#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60) from a corpus seeded with the real
# fixtures (seed-corpus.py), and print per target its fuzzing time, executions and corpus
# size from libFuzzer's final statistics. Exits non-zero when any target crashed, leaked memory
# past the limits, or timed out; the reproducer is left in fuzz/artifacts/<target>/.
#
#   fuzz/run-all.sh [SECONDS] [TARGET...]
#   FUZZ_JOBS=2 fuzz/run-all.sh 600      # two libFuzzer processes per target (-fork)
#
# cargo-fuzz needs nightly-only compiler flags; on a stable toolchain RUSTC_BOOTSTRAP=1
# allows them (set here unless the caller set it).
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
shift || true
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}
# Sanitizer builds stay in fuzz/target, apart from the workspace's.
export CARGO_TARGET_DIR="$PWD/target"
JOBS=${FUZZ_JOBS:-1}
LOGS=target/fuzz-logs
mkdir -p "$LOGS"

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
python3 seed-corpus.py >/dev/null || { echo "could not seed the corpus from tests/fixtures" >&2; exit 2; }

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
# Release code with debug assertions (integer overflow panics), under AddressSanitizer.
cargo fuzz build -O --debug-assertions || { echo "cargo fuzz build failed" >&2; exit 2; }

# Hostile sizes must not turn into huge allocations: a single malloc over 256 MiB or a
# resident set over 1.5 GiB is a failure, as is one input taking over 20 s.
LIMITS=(-rss_limit_mb=1536 -malloc_limit_mb=256 -timeout=20 -max_len=1048576 -print_final_stats=1)
failed=0
printf '%-12s %8s %14s %10s %8s  %s\n' target seconds executions exec/s corpus result
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="$LOGS/$t.log"
  start=$(date +%s)
  if [ "$JOBS" -gt 1 ]; then
    par=(-fork="$JOBS" -ignore_crashes=0)
  else
    par=()
  fi
  cargo fuzz run -O --debug-assertions "$t" "corpus/$t" -- "${LIMITS[@]}" "${par[@]}" \
    -max_total_time="$SECONDS_EACH" -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  # Fuzzing time and executions from libFuzzer's "Done N runs in S second(s)" (the wall time
  # above also counts building the target); -fork: the last status line of the parent.
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)
  if [ -n "$done_line" ]; then
    execs=$(echo "$done_line" | awk '{print $2}')
    took=$(echo "$done_line" | awk '{print $5}')
  else
    execs=$(grep -Eo '#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  fi
  rate=$(( ${execs:-0} / (took > 0 ? took : 1) ))
  units=$(find "corpus/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then result=ok; else result="FAILED (rc $rc, see fuzz/$log)"; failed=1; fi
  printf '%-12s %8s %14s %10s %8s  %s\n' "$t" "$took" "${execs:-?}" "${rate:-?}" "$units" "$result"
  if [ $rc -ne 0 ]; then grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/    /'; fi
done
exit $failed
