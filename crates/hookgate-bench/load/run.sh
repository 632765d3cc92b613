#!/usr/bin/env bash
# The load benchmark of issue 8: hookgate's stacks against bare axum and actix-web,
# each server pinned to one core, wrk pinned to the other, on 127.0.0.1 only.
#
#   crates/hookgate-bench/load/run.sh [variant ...]     (default: every variant)
#
# Parameters (environment, integers; the defaults take about 5 minutes for 11
# variants):
#   ROUNDS=3        measured rounds; each round runs every variant once, the order
#                   rotated by one variant per round
#   DURATION=6      seconds of one measured run of wrk
#   WARMUP=3        seconds of warm-up per variant before the rounds (not counted)
#   CONNECTIONS=32  wrk connections (one wrk thread)
#   SERVER_CPU=1 CLIENT_CPU=0   the cores for the servers and for wrk
#   NICE=0          niceness of the servers and wrk; on a machine shared with other
#                   work (compilers), NICE=-10 (as root) gives the measured processes
#                   a larger share of their cores without starving the rest
#   RT=0            RT=1 runs the servers and wrk under SCHED_FIFO (chrt -f 1, as
#                   root): they then preempt everything else on their cores, which
#                   is what makes a busy machine measurable, and starves the other
#                   work there (the kernel's RT throttling leaves it 5%, and adds
#                   pauses of up to 50 ms a second to the measured p99): only on a
#                   machine you have to yourself, or briefly
#   OUT=target/load/<date>      where rounds.tsv and table.md are written
#
# What it does:
#   1. installs wrk with apt-get when it is missing;
#   2. builds `load_server` (crates/hookgate-bench/src/bin/load_server.rs) in release;
#   3. starts one server per variant, `taskset -c $SERVER_CPU`, each on
#      127.0.0.1:<a free port> (idle servers cost nothing), and warms each up;
#   4. for each round and variant: `taskset -c $CLIENT_CPU wrk -t1 ... -s event.lua`
#      posting a new binary-mode CloudEvent per request (new ce-id, `?code=` secret),
#      and reads before and after the run the server's user and system CPU time
#      (/proc/PID/stat; the whole process, all threads), its handler count
#      (GET /count) and wrk's own CPU time;
#   5. checks that every response was 2xx with no socket error, and that the
#      handler saw one event per completed request (no deduplication short-cut:
#      between the completed count and that plus the connections still in flight
#      when wrk stopped); any failure is printed and the script exits 1;
#   6. prints one markdown table: medians over the rounds of req/s, p50 and p99,
#      the ratios to the bare server of the same framework, server CPU per request
#      (total CPU time over total requests of all rounds), wrk's CPU use, and the
#      goals of issue 8 for the full stacks (variants whose name contains `-full`).
#
# The servers are killed on exit (by their process ids).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
NICE=${NICE:-0}
RT=${RT:-0}
# The shared secret of load_server.rs (`CODE`).
CODE=hookgate-load-secret
# Seconds between the end of wrk and the reading of the counters, for the requests
# the server still had in hand.
SETTLE=0.3

die() {
    echo "load: error: $*" >&2
    exit 1
}

check_int() { # name value min max
    [[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3 && $2 <= $4)) || die "$1=$2: expected an integer in $3..$4"
}
check_int ROUNDS "$ROUNDS" 1 20
check_int DURATION "$DURATION" 1 120
check_int WARMUP "$WARMUP" 0 60
check_int CONNECTIONS "$CONNECTIONS" 1 1024
check_int SERVER_CPU "$SERVER_CPU" 0 4095
check_int CLIENT_CPU "$CLIENT_CPU" 0 4095
[[ $NICE =~ ^-?[0-9]+$ ]] && ((NICE >= -20 && NICE <= 19)) || die "NICE=$NICE: expected an integer in -20..19"
[[ $RT == 0 || $RT == 1 ]] || die "RT=$RT: expected 0 or 1"
((SERVER_CPU != CLIENT_CPU)) || die "SERVER_CPU and CLIENT_CPU must differ"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)

# ---- tools ------------------------------------------------------------------------

command -v taskset >/dev/null || die "taskset (util-linux) is needed to pin the processes"
if ! command -v wrk >/dev/null; then
    echo "load: wrk is missing: installing it with apt-get" >&2
    sudo=()
    if (($(id -u) != 0)); then sudo=(sudo); fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y wrk
fi

echo "load: building load_server (release)" >&2
(cd "$root" && cargo build --release -p hookgate-bench --bin load_server)
target_dir=$(cd "$root" && cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release/load_server"
[[ -x $bin ]] || die "no $bin after the build"

if (($# > 0)); then
    variants=("$@")
else
    mapfile -t variants < <("$bin" --list)
fi
((${#variants[@]} > 0)) || die "no variant to run"

OUT=${OUT:-"$target_dir/load/$(date +%Y%m%d-%H%M%S)"}
mkdir -p "$OUT"
clk_tck=$(getconf CLK_TCK)

# The prefix of every measured process: niceness, scheduling policy, core.
sched=(nice -n "$NICE")
if ((RT == 1)); then sched+=(chrt -f 1); fi

# ---- servers ----------------------------------------------------------------------

declare -A pid_of addr_of
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() { # variant
    local v=$1 pid addr="" tries
    : >"$OUT/$v.stdout"
    "${sched[@]}" taskset -c "$SERVER_CPU" "$bin" "$v" 127.0.0.1:0 >"$OUT/$v.stdout" 2>"$OUT/$v.stderr" &
    pid=$!
    pids+=("$pid")
    for ((tries = 0; tries < 200; tries++)); do
        addr=$(sed -n 's/^listening on //p' "$OUT/$v.stdout" || true)
        [[ -n $addr ]] && break
        kill -0 "$pid" 2>/dev/null || die "$v exited: $(cat "$OUT/$v.stderr")"
        sleep 0.05
    done
    [[ -n $addr ]] || die "$v did not start listening within 10 s"
    [[ $addr == 127.0.0.1:* ]] || die "$v listens on $addr, not on 127.0.0.1"
    pid_of[$v]=$pid
    addr_of[$v]=$addr
}

# COUNT := the handler count of the server at $1 (GET /count, outside the middleware).
read_count() { # addr
    local response status
    exec 3<>"/dev/tcp/${1%:*}/${1##*:}"
    printf 'GET /count HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$1" >&3
    response=$(cat <&3)
    exec 3<&-
    status=${response%%$'\r\n'*}
    [[ $status == "HTTP/1.1 200"* ]] || die "GET /count on $1 answered: $status"
    COUNT=${response##*$'\r\n\r\n'}
    [[ $COUNT =~ ^[0-9]+$ ]] || die "GET /count on $1: not a number: $COUNT"
}

# UTIME, STIME := user and system CPU ticks of process $1 (all its threads);
# CUTIME, CSTIME := those of its waited-for children.
read_ticks() { # pid
    local line rest
    read -r line <"/proc/$1/stat" || die "process $1 is gone"
    rest=${line##*) }
    # shellcheck disable=SC2206 # split the fields
    local -a f=($rest)
    UTIME=${f[11]} STIME=${f[12]} CUTIME=${f[13]} CSTIME=${f[14]}
}

# Runs wrk against variant $1 for $2 seconds (run name $3); W[...] := its results,
# WRK_TICKS := wrk's CPU ticks.
declare -A W
run_wrk() { # variant seconds run-name
    local v=$1 line kv c0
    kill -0 "${pid_of[$v]}" 2>/dev/null || die "the $v server died: $(cat "$OUT/$v.stderr")"
    read_ticks $$
    c0=$((CUTIME + CSTIME))
    timeout -k 5 $(($2 + 30)) "${sched[@]}" taskset -c "$CLIENT_CPU" \
        wrk -t1 -c"$CONNECTIONS" -d"$2s" --latency -s "$here/event.lua" \
        "http://${addr_of[$v]}/api/events?code=$CODE" -- "$3" >"$OUT/wrk.out" 2>&1 ||
        die "wrk failed on $v: $(cat "$OUT/wrk.out")"
    read_ticks $$
    WRK_TICKS=$((CUTIME + CSTIME - c0))
    line=$(grep '^WRK ' "$OUT/wrk.out") || die "no result line from wrk on $v: $(cat "$OUT/wrk.out")"
    W=()
    for kv in ${line#WRK }; do
        W[${kv%%=*}]=${kv#*=}
    done
}

failures=()
fail_check() {
    echo "load: FAILED: $*" >&2
    failures+=("$*")
}

# Every response 2xx, no socket error.
check_responses() { # variant what
    local errors=$((W[connect] + W[read] + W[write] + W[status] + W[timeout]))
    if ((W[non2xx] != 0 || errors != 0)); then
        fail_check "$1 ($2): ${W[non2xx]} non-2xx responses, socket errors connect=${W[connect]} read=${W[read]} write=${W[write]} timeout=${W[timeout]}"
        return 1
    fi
    ((W[requests] > 0)) || { fail_check "$1 ($2): no request completed"; return 1; }
}

# ---- run --------------------------------------------------------------------------

stamp=$(date +%s)
echo "load: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores; server on core $SERVER_CPU, wrk on core $CLIENT_CPU"
echo "load: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with changes)')"
echo "load: ${#variants[@]} variants, $ROUNDS rounds x ${DURATION}s, warm-up ${WARMUP}s, $CONNECTIONS connections, nice $NICE, $( ((RT == 1)) && echo SCHED_FIFO || echo SCHED_OTHER)"
echo "load: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

for v in "${variants[@]}"; do
    start_server "$v"
done

if ((WARMUP > 0)); then
    for v in "${variants[@]}"; do
        run_wrk "$v" "$WARMUP" "warm-$stamp-$v"
        check_responses "$v" "warm-up" || die "$v fails during the warm-up: $(tail -n 3 "$OUT/$v.stderr")"
    done
fi

printf 'round\tvariant\trequests\tduration_us\trps\tp50_us\tp99_us\tuser_ticks\tsys_ticks\thandler_delta\twrk_ticks\n' >"$OUT/rounds.tsv"
n=${#variants[@]}
for ((round = 1; round <= ROUNDS; round++)); do
    for ((k = 0; k < n; k++)); do
        v=${variants[$(((k + round - 1) % n))]}
        pid=${pid_of[$v]}
        read_count "${addr_of[$v]}"
        before=$COUNT
        read_ticks "$pid"
        u0=$UTIME s0=$STIME
        run_wrk "$v" "$DURATION" "r$round-$stamp-$v"
        sleep "$SETTLE"
        read_ticks "$pid"
        du=$((UTIME - u0)) ds=$((STIME - s0))
        read_count "${addr_of[$v]}"
        delta=$((COUNT - before))
        check_responses "$v" "round $round" || true
        if ((delta < W[requests] || delta > W[requests] + CONNECTIONS)); then
            fail_check "$v (round $round): the handler saw $delta events for ${W[requests]} completed requests"
        fi
        rps=$(awk -v r="${W[requests]}" -v d="${W[duration_us]}" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
        printf '%d\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n' "$round" "$v" "${W[requests]}" \
            "${W[duration_us]}" "$rps" "${W[p50_us]}" "${W[p99_us]}" "$du" "$ds" "$delta" \
            "$WRK_TICKS" >>"$OUT/rounds.tsv"
        printf 'load: round %d %-20s %7s req/s  p99 %5d us  user %5.2f us/req\n' "$round" "$v" "$rps" \
            "${W[p99_us]}" "$(awk -v t="$du" -v r="${W[requests]}" -v h="$clk_tck" 'BEGIN { print t * 1e6 / h / r }')" >&2
    done
    echo "load: load average after round $round: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

# ---- table ------------------------------------------------------------------------

awk -F'\t' -v tck="$clk_tck" -v order="${variants[*]}" '
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) {
        t = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
        a[j + 1] = t
    }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function bare_of(v) {
    if (v ~ /^axum-/) return "axum-bare"
    if (v ~ /^actix-/) return "actix-bare"
    return ""
}
NR > 1 {
    v = $2
    rps[v] = rps[v] " " $5; p50[v] = p50[v] " " $6; p99[v] = p99[v] " " $7
    req[v] += $3; dur[v] += $4; ut[v] += $8; st[v] += $9; wt[v] += $11
}
END {
    n = split(order, names, " ")
    for (i = 1; i <= n; i++) {
        v = names[i]
        if (!(v in req)) continue
        R[v] = median(rps[v]); P50[v] = median(p50[v]); P99[v] = median(p99[v])
        U[v] = ut[v] * 1e6 / tck / req[v]; S[v] = st[v] * 1e6 / tck / req[v]
        C[v] = 100 * wt[v] / tck / (dur[v] / 1e6)
    }
    print "| variant | req/s | x bare | p50 us | p99 us | p99 x bare | user us/req | user +us vs bare | sys us/req | wrk CPU % |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) {
        v = names[i]
        if (!(v in R)) continue
        b = bare_of(v)
        if (b in R) {
            ratio = sprintf("%.2f", R[v] / R[b]); p99r = sprintf("%.2f", P99[v] / P99[b])
            du = sprintf("%+.2f", U[v] - U[b])
        } else {
            ratio = "-"; p99r = "-"; du = "-"
        }
        printf "| %s | %.0f | %s | %d | %d | %s | %.2f | %s | %.2f | %.0f |\n", v, R[v], ratio, P50[v], P99[v], p99r, U[v], du, S[v], C[v]
    }
    for (i = 1; i <= n; i++) {
        v = names[i]
        if ((v in C) && C[v] >= 90)
            printf "\nNote: wrk used %.0f%% of its core on %s: that server may be faster than one wrk thread can load it (its req/s is a lower bound).\n", C[v], v
    }
    print ""
    print "Goals of issue 8 for a full stack, against the bare server of its framework: req/s >= 0.85x, user CPU <= +1.5 us/request, p99 <= 1.3x."
    for (i = 1; i <= n; i++) {
        v = names[i]
        b = bare_of(v)
        if (v !~ /-full/ || !(v in R) || !(b in R)) continue
        r = R[v] / R[b]; d = U[v] - U[b]; p = P99[v] / P99[b]
        printf "- %s: req/s %.2fx (%s), user %+.2f us (%s), p99 %.2fx (%s)\n", v, \
            r, (r >= 0.85 ? "met" : sprintf("misses by %.2f", 0.85 - r)), \
            d, (d <= 1.5 ? "met" : sprintf("misses by %.2f us", d - 1.5)), \
            p, (p <= 1.3 ? "met" : sprintf("misses by %.2fx", p - 1.3))
    }
}' "$OUT/rounds.tsv" >"$OUT/table.md"

echo
cat "$OUT/table.md"
echo
echo "load: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (another process on core $SERVER_CPU or $CLIENT_CPU lowers req/s; CPU per request is the server's own)"
echo "load: raw rounds in $OUT/rounds.tsv"
if ((${#failures[@]} > 0)); then
    echo "load: ${#failures[@]} check(s) FAILED:" >&2
    printf '  %s\n' "${failures[@]}" >&2
    exit 1
fi
