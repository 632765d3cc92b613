#!/usr/bin/env bash
# Interleaved load comparison of any HTTP servers that take event.lua's requests
# (POST /api/events?code=hookgate-load-secret, binary mode): two builds of
# load_server side by side, or `hookgate listen` beside load_server's variants.
# All servers stay alive together; each round runs wrk once against each, in an
# order rotated by one server per round, so a slow minute of the machine falls on
# every server alike.
#
#   crates/hookgate-bench/load/interleaved.sh 'LABEL=COMMAND' ...
#
# COMMAND is run by `bash -c` (one simple command, which bash replaces itself with,
# so that the measured process is the server), `{port}` replaced by a port that
# this script chose (127.0.0.1 only), for example:
#
#   interleaved.sh \
#     'old-axum-full=/tmp/old/target/release/load_server axum-full 127.0.0.1:{port}' \
#     'new-axum-full=target/release/load_server axum-full 127.0.0.1:{port}' \
#     'listen=HOOKGATE_CODES=hookgate-load-secret target/release/hookgate listen --bind 127.0.0.1:{port}'
#
# A LABEL may carry options after `@`: `@https` (wrk speaks TLS to it: a server
# started with --tls-cert) and `@close` (`Connection: close`, a new connection,
# and with `@https` a full TLS handshake, per request), as in
#
#   interleaved.sh 'plain=...' 'tls@https=... --tls-cert c.pem --tls-key k.pem' \
#     'tls-close@https@close=... --tls-cert c.pem --tls-key k.pem'
#
# `@batch` sends batch.lua's requests instead (a structured batch of 100 events);
# the table's per-event column then divides by 100.
#
# The first server is the baseline of the "x first" column. Parameters
# (environment): ROUNDS=5, DURATION=5 (seconds of a run), CONNECTIONS=32,
# SERVER_CPU=1, CLIENT_CPU=0, RT=1 (servers and wrk under SCHED_FIFO, as root: see
# run.sh on what that costs the rest of the machine; RT=0 to run without).
#
# Prints a markdown table: median req/s, ratio to the first server, median p50 and
# p99 (wrk, µs), and the server's CPU time (/proc/PID/stat) per request: user, and
# user + system (median and every round), and user + system per event. A run with a non-2xx answer or a socket error is
# reported and the script exits 1 at the end.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
RT=${RT:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
    echo "interleaved: error: $*" >&2
    exit 1
}
(($# > 0)) || die "no server given (LABEL=COMMAND ...)"
command -v wrk >/dev/null || die "wrk is missing (run.sh installs it)"
sched=(taskset -c)
if ((RT == 1)); then sched=(chrt -f 1 taskset -c); fi

labels=() pids=() ports=() schemes=() extras=() scripts=() batches=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
out=$(mktemp -d)
port=$((18100 + RANDOM % 1000))
for spec in "$@"; do
    label=${spec%%=*}
    command=${spec#*=}
    [[ -n $label && $command != "$spec" ]] || die "not LABEL=COMMAND: $spec"
    scheme=http extra=()
    [[ $label == *@https* ]] && scheme=https
    [[ $label == *@close* ]] && extra=(-H "Connection: close")
    script=event.lua batch=1
    [[ $label == *@batch* ]] && script=batch.lua batch=100
    label=${label%%@*}
    scripts+=("$script") batches+=("$batch")
    schemes+=("$scheme")
    extras+=("${extra[*]:-}")
    ((port++))
    "${sched[@]}" "$SERVER_CPU" bash -c "${command//\{port\}/$port}" >/dev/null 2>"$out/$label.err" &
    pids+=($!) labels+=("$label") ports+=("$port")
done
# wrk's header options of server $1, into the array `hdr` (wrk reads a header
# given as `Name: value`, the space included: one word).
wrk_headers() {
    hdr=()
    if [[ -n ${extras[$1]} ]]; then hdr=(-H "Connection: close"); fi
}
for i in "${!labels[@]}"; do
    for ((try = 0; try < 100; try++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/${ports[$i]}") 2>/dev/null && break
        sleep 0.1
    done
    ((try < 100)) || die "${labels[$i]} does not listen: $(tail -n 3 "$out/${labels[$i]}.err")"
    wrk_headers "$i"
    "${sched[@]}" "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d2s -s "$here/${scripts[$i]}" "${hdr[@]}" \
        "${schemes[$i]}://127.0.0.1:${ports[$i]}/api/events?code=hookgate-load-secret" -- "warm-${labels[$i]}" >/dev/null
done

failed=0
printf 'round\tlabel\trequests\tticks\tp50\tp99\tduration_us\tuser_ticks\tevents\n' >"$out/rounds.tsv"
for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < ${#labels[@]}; k++)); do
        i=$(((k + r) % ${#labels[@]}))
        read -r u s < <(awk '{print $14, $15}' "/proc/${pids[$i]}/stat")
        wrk_headers "$i"
        "${sched[@]}" "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/${scripts[$i]}" "${hdr[@]}" \
            "${schemes[$i]}://127.0.0.1:${ports[$i]}/api/events?code=hookgate-load-secret" -- "r$r-$i-$$" >"$out/wrk.out" 2>&1
        sleep 0.3
        read -r u2 s2 < <(awk '{print $14, $15}' "/proc/${pids[$i]}/stat")
        line=$(grep '^WRK ' "$out/wrk.out")
        if ! grep -q ' non2xx=0 connect=0 read=0 write=0 status=0 timeout=0 ' <<<"$line"; then
            echo "interleaved: ${labels[$i]}, round $r: $line" >&2
            failed=1
        fi
        requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
        p50=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$line")
        p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")
        took=$(sed -n 's/.*duration_us=\([0-9]*\).*/\1/p' <<<"$line")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "${labels[$i]}" "$requests" $((u2 + s2 - u - s)) "$p50" "$p99" "$took" $((u2 - u)) "${batches[$i]}" >>"$out/rounds.tsv"
    done
done
# req/s from the run's own duration as wrk measured it: a run of new connections
# can overrun -d (wrk's timer waits behind its connects).
python3 - "$out/rounds.tsv" "$(getconf CLK_TCK)" "${labels[@]}" <<'PY'
import collections, statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().splitlines()[1:]]
tck, labels = int(sys.argv[2]), sys.argv[3:]
by = collections.defaultdict(list)
for _, label, requests, ticks, p50, p99, took, user, events in rows:
    by[label].append((int(requests) / (int(took) / 1e6), int(ticks), int(p50), int(p99),
                      int(requests), int(user), int(events)))
med = lambda xs: statistics.median(xs)
base = med([q for q, *_ in by[labels[0]]])
print('| server | req/s | x first | p50 µs | p99 µs | user µs/req | CPU µs/req | CPU µs/event | every round (CPU µs/req) |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---|')
for label in labels:
    runs = by[label]
    cpu = [t / tck * 1e6 / n for _, t, _, _, n, _, _ in runs]
    user = [u / tck * 1e6 / n for _, _, _, _, n, u, _ in runs]
    per_event = runs[0][6]
    q = med([q for q, *_ in runs])
    print(f'| {label} | {q:.0f} | {q / base:.2f} | {med([r[2] for r in runs]):.0f} '
          f'| {med([r[3] for r in runs]):.0f} | {med(user):.2f} | {med(cpu):.2f} '
          f'| {med(cpu) / per_event:.3f} | {" ".join(f"{c:.1f}" for c in cpu)} |')
PY
echo "interleaved: raw rounds in $out/rounds.tsv" >&2
exit "$failed"
