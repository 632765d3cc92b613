#!/usr/bin/env bash
# What a user of hookgate compiles: crate counts (cargo tree) and clean build times
# of tiny scratch crates that depend on hookgate by path, as a user's crate would.
#
#   crates/hookgate-bench/deps.sh [SRC] [--build]
#
# SRC is a hookgate source tree (default: this repository). The scratch crates go
# to $SCRATCH (default /tmp/hookgate-deps), outside any workspace, each with SRC's
# Cargo.lock copied in so that the versions are the workspace's; with --build each
# is built clean (dev profile) into its own target dir under $SCRATCH.
#
# The features of each crate can be overridden, for a tree older than issue 8
# (whose core had the `reqwest` feature on by default and Azure AD always built):
#   PARSER='' AXUM='"axum", "redis"' ACTIX='"actix", "redis"' deps.sh OLD_TREE
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$(cd "${1:-$here}" && pwd)
BUILD=${2:-}
SCRATCH=${SCRATCH:-/tmp/hookgate-deps}
PARSER=${PARSER-}
AXUM=${AXUM-'"axum", "redis", "aad", "callback"'}
ACTIX=${ACTIX-'"actix", "redis", "aad", "callback"'}

mk() { # name, dependency line
  local d="$SCRATCH/$1"
  mkdir -p "$d/src"
  printf '[package]\nname = "scratch-%s"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[dependencies]\n%s\n\n[workspace]\n' \
    "$1" "$2" > "$d/Cargo.toml"
  echo "pub use ${3};" > "$d/src/lib.rs"
  cp "$SRC/Cargo.lock" "$d/Cargo.lock"
}
mk parser-only "hookgate-core = { path = \"$SRC/crates/hookgate-core\"${PARSER:+, features = [$PARSER]} }" hookgate_core
mk axum-full "hookgate = { path = \"$SRC\", default-features = false, features = [$AXUM] }" hookgate
mk actix-full "hookgate = { path = \"$SRC\", default-features = false, features = [$ACTIX] }" hookgate
mk axum-lean "hookgate = { path = \"$SRC\", default-features = false, features = [\"axum\"] }" hookgate
mk actix-lean "hookgate = { path = \"$SRC\", default-features = false, features = [\"actix\"] }" hookgate
mk facade-default "hookgate = { path = \"$SRC\" }" hookgate

# Distinct `name vX.Y.Z` of the host target's tree, the hookgate crates included,
# the scratch crate not: -e normal (what the brief counts) and -e normal,build.
count() {
  (cd "$SCRATCH/$1" && cargo tree -q -e "$2" --prefix none) |
    sed 's/ (\*)//; s/ (proc-macro)//' | awk '{print $1" "$2}' |
    grep -v '^scratch-' | sort -u | wc -l
}
printf '%-15s %7s %13s\n' crate normal normal+build
for n in parser-only axum-full actix-full axum-lean actix-lean facade-default; do
  printf '%-15s %7s %13s\n' "$n" "$(count "$n" normal)" "$(count "$n" normal,build)"
done

if [[ "$BUILD" == --build ]]; then
  for n in parser-only axum-full actix-full; do
    t="$SCRATCH/target-$n"
    rm -rf "$t"
    s=$(date +%s.%N)
    (cd "$SCRATCH/$n" && CARGO_TARGET_DIR="$t" cargo build -q)
    e=$(date +%s.%N)
    printf '%-15s clean dev build %.1f s (load average after: %s)\n' "$n" \
      "$(echo "$e - $s" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
  done
fi
