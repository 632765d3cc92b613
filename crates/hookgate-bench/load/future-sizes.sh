#!/usr/bin/env bash
# The sizes of the futures hookgate allocates per request, as load_server builds
# them (release, nightly's -Zprint-type-sizes). Each adapter boxes its whole-stack
# future once per request (tower's ResponseFuture, actix-web's LocalBoxFuture);
# glibc serves blocks of up to 1032 bytes from its per-thread cache, a larger one
# takes the slower path (and consolidates free chunks) every time, so the figure to
# watch is that each stays within 1 KiB. Debug builds lay futures out differently:
# only a release build's sizes mean anything.
#
#   crates/hookgate-bench/load/future-sizes.sh [PATTERN]
#
# PATTERN (a grep -E regular expression, default: hookgate's futures) selects the
# types; prints "bytes  type", largest first. Builds into target/type-sizes (a
# separate directory: the flags differ) with `cargo +nightly`.
set -euo pipefail
pattern=${1:-'async (fn body of|block@) ?(hookgate|<hookgate|\S*hookgate_)'}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The bin is rebuilt each time (touch), so that rustc prints its types.
touch crates/hookgate-bench/src/bin/load_server.rs
CARGO_TARGET_DIR=target/type-sizes cargo +nightly rustc --release -q -p hookgate-bench \
    --bin load_server -- -Zprint-type-sizes >"$out"
grep -E '^print-type-size type: `' "$out" |
    grep -vE 'MaybeUninit|MaybeDangling|ManuallyDrop|tokio::runtime::task' |
    grep -E "$pattern" |
    sed -E 's/^print-type-size type: `(.*)`: ([0-9]+) bytes.*/\2  \1/' |
    sort -rn -k1,1 | awk '!seen[$0]++' | cut -c1-200 | head -40
