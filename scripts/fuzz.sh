#!/usr/bin/env bash
# Builds the cargo-fuzz targets of fuzz/ and runs each for SECONDS (default 600),
# one after another, then prints per target: CPU time, executions, corpus size,
# coverage (libFuzzer's final cov: / ft:) and the result. See FUZZING.md.
#
#   scripts/fuzz.sh [SECONDS]            every target
#   TARGETS="binary jwt" scripts/fuzz.sh 60
#
# Needs the nightly toolchain (`rustup toolchain list`); installs cargo-fuzz when
# missing. The corpora (fuzz/corpus/<target>/, not committed) are seeded from
# tests/vectors by fuzz/seed.py and grow with every run; crashes land in
# fuzz/artifacts/<target>/ and make the script exit 1 after all targets ran.
# Logs: fuzz/logs/<target>.log, the table: fuzz/logs/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: scripts/fuzz.sh [SECONDS]  (a positive number; default 600)" >&2
  exit 2
fi
all_targets="binary structured batch header_value signature jwt handshake auth"
targets=${TARGETS:-$all_targets}
# Memory per process: far above what one input may cost (a 64 KiB body), far
# below the machine; a leak or blow-up shows as an out-of-memory crash.
rss_limit_mb=${FUZZ_RSS_LIMIT_MB:-2048}

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "the nightly toolchain is needed (cargo +nightly)" >&2
  exit 2
fi
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked
fi

if command -v python3 >/dev/null; then
  echo "== seeds: $(python3 fuzz/seed.py .)"
else
  echo "== no python3: the targets start from an empty corpus" >&2
fi

# Release with debug assertions and overflow checks, AddressSanitizer (the
# cargo-fuzz defaults).
echo "== build"
build_start=$SECONDS
(cd fuzz && cargo +nightly fuzz build)
echo "== built in $((SECONDS - build_start)) s"

mkdir -p fuzz/logs
summary=fuzz/logs/summary.md
{
  echo "| target | CPU time | executions | corpus | coverage | result |"
  echo "|---|---|---|---|---|---|"
} >"$summary"

max_len_of() {
  case "$1" in
    binary | structured | batch | handshake) echo 65536 ;;
    *) echo 4096 ;;
  esac
}

failed=0
for target in $targets; do
  max_len=$(max_len_of "$target")
  log=fuzz/logs/$target.log
  mkdir -p "fuzz/corpus/$target"
  echo "== $target: ${seconds} s, -max_len=$max_len (log: $log)"
  status=0
  # /usr/bin/time -f: user and system CPU seconds of the fuzzer, on the last line.
  # fuzz/regressions/<target>/: inputs that once failed, replayed first (libFuzzer
  # adds what it finds to the first directory only).
  dirs=("corpus/$target")
  [[ -d "fuzz/regressions/$target" ]] && dirs+=("regressions/$target")
  (cd fuzz && /usr/bin/time -f "cpu %U %S" cargo +nightly fuzz run "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb="$rss_limit_mb" \
    -timeout=10 -print_final_stats=1) >"$log" 2>&1 || status=$?

  cpu=$(awk '/^cpu /{printf "%.0f s", $2 + $3}' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  stats=$(grep -E '#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
  files=$(find "fuzz/corpus/$target" -type f | wc -l)
  size=$(du -sk "fuzz/corpus/$target" | cut -f1)
  if ((status == 0)); then
    result="0 crashes"
  else
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
    result="FAILED (exit $status${artifact:+, $artifact})"
  fi
  line="| $target | ${cpu:-?} | ${execs:-?} | $files files, ${size} KiB | cov $cov, ft $ft | $result |"
  echo "$line" >>"$summary"
  echo "   cpu ${cpu:-?}, ${execs:-?} executions, corpus $files files (${size} KiB), cov: $cov ft: $ft, $result"
done

echo
cat "$summary"
exit "$failed"
