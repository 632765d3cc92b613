#!/usr/bin/env bash
# Where the load server's user CPU goes, independent of the machine's load: each
# variant of load_server runs under valgrind's callgrind, wrk sends it the same
# requests as run.sh (event.lua), and the instructions executed and the heap
# allocations made by the server per request are counted exactly.
#
#   crates/hookgate-bench/load/profile.sh [variant ...]   (default: every variant)
#
# Parameters (environment): DURATION=4 (seconds of counted load per variant; the
# server runs about 50x slower under callgrind, so a few thousand requests),
# WARMUP=2, CONNECTIONS=8, SERVER_CPU=1, CLIENT_CPU=0, OUT=target/load/profile-<date>.
#
# For each variant: start it under callgrind, warm it up, zero the counters
# (callgrind_control -z), read GET /count, run wrk, read GET /count, dump the
# counters (callgrind_control -d). Instructions per request = the instructions of
# the dump (all threads, user space only: no kernel time) / the events the handler
# saw; allocations per request = calls of malloc / the same. It prints a markdown
# table with the differences to the bare server of the same framework, and keeps
# each dump in OUT for `callgrind_annotate --inclusive=yes` or `--tree=caller`.
#
# Caveat: valgrind's virtual CPU has no SHA extensions, so sha2 runs its portable
# code under callgrind (a few thousand instructions per 64-byte block) where the
# native server uses the CPU's SHA-256 instructions: the SHA-256 share is overstated.
set -euo pipefail

DURATION=${DURATION:-4}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-8}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
CODE=hookgate-load-secret

die() {
    echo "profile: error: $*" >&2
    exit 1
}
for p in DURATION:1:60 WARMUP:0:30 CONNECTIONS:1:256 SERVER_CPU:0:4095 CLIENT_CPU:0:4095; do
    IFS=: read -r name min max <<<"$p"
    value=${!name}
    [[ $value =~ ^[0-9]+$ ]] && ((value >= min && value <= max)) ||
        die "$name=$value: expected an integer in $min..$max"
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)

command -v taskset >/dev/null || die "taskset (util-linux) is needed"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v callgrind_control >/dev/null || missing+=(valgrind)
if ((${#missing[@]} > 0)); then
    echo "profile: installing ${missing[*]} with apt-get" >&2
    sudo=()
    if (($(id -u) != 0)); then sudo=(sudo); fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y "${missing[@]}"
fi

(cd "$root" && cargo build --release -p hookgate-bench --bin load_server)
target_dir=$(cd "$root" && cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release/load_server"
if (($# > 0)); then
    variants=("$@")
else
    mapfile -t variants < <("$bin" --list)
fi
OUT=${OUT:-"$target_dir/load/profile-$(date +%Y%m%d-%H%M%S)"}
mkdir -p "$OUT"

pid=""
cleanup() {
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

count() { # addr
    local response
    exec 3<>"/dev/tcp/${1%:*}/${1##*:}"
    printf 'GET /count HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$1" >&3
    response=$(cat <&3)
    exec 3<&-
    response=${response##*$'\r\n\r\n'}
    [[ $response =~ ^[0-9]+$ ]] || die "GET /count on $1: $response"
    echo "$response"
}

load() { # addr seconds run-name
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$2s" -s "$here/event.lua" \
        "http://$1/api/events?code=$CODE" -- "$3" >"$OUT/wrk.out" 2>&1 || die "wrk: $(cat "$OUT/wrk.out")"
    grep -q ' non2xx=0 connect=0 read=0 write=0 status=0 timeout=0 ' "$OUT/wrk.out" ||
        die "not every response was 2xx: $(grep '^WRK' "$OUT/wrk.out")"
}

stamp=$(date +%s)
printf 'variant\tevents\tinstructions\tmallocs\n' >"$OUT/profile.tsv"
for v in "${variants[@]}"; do
    out="$OUT/callgrind.$v"
    : >"$OUT/$v.stdout"
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin" "$v" 127.0.0.1:0 >"$OUT/$v.stdout" 2>"$OUT/$v.stderr" &
    pid=$!
    addr=""
    for ((i = 0; i < 300; i++)); do
        addr=$(sed -n 's/^listening on //p' "$OUT/$v.stdout" || true)
        [[ -n $addr ]] && break
        kill -0 "$pid" 2>/dev/null || die "$v exited: $(tail -n 5 "$OUT/$v.stderr")"
        sleep 0.1
    done
    [[ $addr == 127.0.0.1:* ]] || die "$v did not start on 127.0.0.1 within 30 s"
    ((WARMUP == 0)) || load "$addr" "$WARMUP" "pwarm-$stamp-$v"
    callgrind_control -z "$pid" >/dev/null 2>&1
    before=$(count "$addr")
    load "$addr" "$DURATION" "prof-$stamp-$v"
    after=$(count "$addr")
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    dump="$out.1"
    [[ -f $dump ]] || die "no callgrind dump for $v"
    # Instructions: the dump's total; mallocs: its calls of malloc.
    read -r instructions mallocs < <(awk -f "$here/counts.awk" "$dump")
    events=$((after - before))
    ((events > 0)) || die "the $v handler saw no event"
    printf '%s\t%d\t%d\t%d\n' "$v" "$events" "$instructions" "$mallocs" >>"$OUT/profile.tsv"
    echo "profile: $v: $events events, $((instructions / events)) instructions and $((mallocs / events)) mallocs per request" >&2
done

awk -F'\t' '
function bare_of(v) { return v ~ /^axum-/ ? "axum-bare" : (v ~ /^actix-/ ? "actix-bare" : "") }
NR > 1 { order[++n] = $1; I[$1] = $3 / $2; M[$1] = $4 / $2 }
END {
    print "| variant | instructions/request | + vs bare | mallocs/request | + vs bare |"
    print "|---|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) {
        v = order[i]; b = bare_of(v)
        di = (b in I) ? sprintf("%+.0f", I[v] - I[b]) : "-"
        dm = (b in M) ? sprintf("%+.1f", M[v] - M[b]) : "-"
        printf "| %s | %.0f | %s | %.1f | %s |\n", v, I[v], di, M[v], dm
    }
}' "$OUT/profile.tsv" | tee "$OUT/profile.md"
echo "profile: callgrind dumps in $OUT (callgrind_annotate --inclusive=yes $OUT/callgrind.<variant>.1)"
