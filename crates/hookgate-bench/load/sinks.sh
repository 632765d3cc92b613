#!/usr/bin/env bash
# The sinks' load run (issue 22): deliveries/s and latency through `hookgate listen`
# with the redis-stream and nats sinks, beside publishing the same messages straight
# to the same broker with the same client at the same concurrency (broker_load), in
# one interleaved run.
#
#   crates/hookgate-bench/load/sinks.sh
#
# The brokers (redis-server, nats-server -js with file storage) are pinned to core
# BROKER_CPU=1; the client side (wrk and hookgate listen, or broker_load) to core
# CLIENT_CPU=0. Parameters: ROUNDS=3, DURATION=5, CONNECTIONS=32. Needs release
# builds of hookgate and broker_load; wrk, redis-server and nats-server (installed
# with apt-get when missing). The receivers run with --max-concurrency 64, above
# the connections, so that none is answered 503 busy. Prints a markdown table of medians.
set -euo pipefail
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
BROKER_CPU=${BROKER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
hookgate=$root/target/release/hookgate
direct=$root/target/release/broker_load
for tool in wrk redis-server; do
    command -v $tool >/dev/null || apt-get install -y -q "$tool" >/dev/null
done
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x $nats ]] || { apt-get install -y -q nats-server >/dev/null; nats=/usr/sbin/nats-server; }
[[ -x $hookgate && -x $direct ]] || { echo "sinks: build first: cargo build --release -p hookgate-cli -p hookgate-bench" >&2; exit 1; }

out=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$out/nats" "$out/redis"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

rport=$((19100 + RANDOM % 500)) nport=$((rport + 1)) h1=$((rport + 2)) h2=$((rport + 3)) h3=$((rport + 4))
mkdir -p "$out/redis" "$out/nats"
taskset -c "$BROKER_CPU" redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$out/redis" >/dev/null &
pids+=($!)
taskset -c "$BROKER_CPU" "$nats" -js -a 127.0.0.1 -p "$nport" -sd "$out/nats" >/dev/null 2>&1 &
pids+=($!)
wait_port "$rport"; wait_port "$nport"
"$direct" nats-stream "nats://127.0.0.1:$nport" EVENTS 'events.>'
taskset -c "$CLIENT_CPU" env HOOKGATE_CODES=hookgate-load-secret "$hookgate" listen --bind "127.0.0.1:$h1" --log-level warn --max-concurrency 64 \
    --redis-stream "redis://127.0.0.1:$rport" --redis-stream-key sink-events >/dev/null 2>&1 &
pids+=($!)
taskset -c "$CLIENT_CPU" env HOOKGATE_CODES=hookgate-load-secret "$hookgate" listen --bind "127.0.0.1:$h2" --log-level warn --max-concurrency 64 \
    --nats "nats://127.0.0.1:$nport" --nats-subject 'events.{type}' >/dev/null 2>&1 &
pids+=($!)
# The receiver alone (the stdout sink, to /dev/null): the ceiling of the client core.
taskset -c "$CLIENT_CPU" env HOOKGATE_CODES=hookgate-load-secret "$hookgate" listen --bind "127.0.0.1:$h3" --log-level warn \
    >/dev/null 2>&1 &
pids+=($!)
wait_port "$h1"; wait_port "$h2"; wait_port "$h3"

printf 'round\tlabel\trate\tp50\tp99\n' >"$out/rounds.tsv"
run() { # label, then the command printing a WRK or DIRECT line
    local label=$1 line
    shift
    line=$("$@" 2>&1 | grep -E '^(WRK|DIRECT) ')
    if [[ $line == WRK* ]]; then
        grep -q ' non2xx=0 connect=0 read=0 write=0 status=0 timeout=0 ' <<<"$line" || echo "sinks: $label: $line" >&2
        local n us
        n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
        us=$(sed -n 's/.*duration_us=\([0-9]*\).*/\1/p' <<<"$line")
        rate=$(python3 -c "print(round($n / ($us / 1e6)))")
    else
        rate=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$line")
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$label" "$rate" "$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$line")" \
        "$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")" >>"$out/rounds.tsv"
}
wrk_at() { taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/event.lua" \
    "http://127.0.0.1:$1/api/events?code=hookgate-load-secret" -- "$2"; }
for ((r = 0; r < ROUNDS; r++)); do
    run direct-redis taskset -c "$CLIENT_CPU" "$direct" redis "redis://127.0.0.1:$rport" direct-events "$CONNECTIONS" "$DURATION"
    run sink-redis wrk_at "$h1" "r$r-redis-$$"
    run direct-nats taskset -c "$CLIENT_CPU" "$direct" nats "nats://127.0.0.1:$nport" events.direct "$CONNECTIONS" "$DURATION"
    run sink-nats wrk_at "$h2" "r$r-nats-$$"
    run receiver-alone wrk_at "$h3" "r$r-stdout-$$"
done
python3 - "$out/rounds.tsv" <<'PY'
import collections, statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().splitlines()[1:]]
by = collections.defaultdict(list)
for r, label, rate, p50, p99 in rows:
    by[label].append((float(rate), int(p50), int(p99)))
med = statistics.median
print('| path | deliveries/s | x direct | p50 µs | p99 µs | every round |')
print('|---|---:|---:|---:|---:|---|')
for broker in ('redis', 'nats'):
    base = med([x[0] for x in by['direct-' + broker]])
    for label in ('direct-' + broker, 'sink-' + broker):
        runs = by[label]
        q = med([x[0] for x in runs])
        print(f'| {label} | {q:.0f} | {q / base:.2f} | {med([x[1] for x in runs]):.0f} | '
              f'{med([x[2] for x in runs]):.0f} | {" ".join(f"{x[0]:.0f}" for x in runs)} |')
runs = by['receiver-alone']
print(f'| receiver alone (stdout sink) | {med([x[0] for x in runs]):.0f} | | {med([x[1] for x in runs]):.0f} | '
      f'{med([x[2] for x in runs]):.0f} | {" ".join(f"{x[0]:.0f}" for x in runs)} |')
PY
