#!/usr/bin/env bash
# What `hookgate listen` executes per request, whatever the machine's load: the
# program under valgrind's callgrind (every thread: the runtime's, the log writer's,
# the stdout writer's, the OpenTelemetry exporter's), loaded with event.lua's
# requests by wrk, then the instructions and malloc calls of the counted period
# divided by the requests wrk completed.
#
#   crates/hookgate-bench/load/profile-listen.sh BINARY [listen flag ...]
#
# The environment reaches the program (OTEL_SDK_DISABLED=true, say); HOOKGATE_CODES
# is set to the load's secret. Parameters (environment): DURATION=4, WARMUP=2,
# CONNECTIONS=8, SERVER_CPU=1, CLIENT_CPU=0, OUT=target/load/listen-<date>.
# Prints one line; the dump stays in OUT for callgrind_annotate.
set -euo pipefail

DURATION=${DURATION:-4}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-8}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
OUT=${OUT:-"$root/target/load/listen-$(date +%Y%m%d-%H%M%S)"}
(($# > 0)) || { echo "usage: profile-listen.sh BINARY [listen flag ...]" >&2; exit 2; }
bin=$1
shift
for tool in wrk valgrind callgrind_control taskset; do
    command -v "$tool" >/dev/null || { echo "profile-listen: $tool is missing (profile.sh installs wrk and valgrind)" >&2; exit 1; }
done
mkdir -p "$OUT"
port=$((19000 + RANDOM % 500))
out="$OUT/callgrind.listen"
HOOKGATE_CODES=hookgate-load-secret taskset -c "$SERVER_CPU" valgrind --tool=callgrind \
    --callgrind-out-file="$out" "$bin" listen --bind "127.0.0.1:$port" "$@" >/dev/null 2>"$OUT/listen.stderr" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for ((i = 0; i < 150; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "profile-listen: the program exited: $(tail -n 3 "$OUT/listen.stderr")" >&2; exit 1; }
    sleep 0.2
done
url="http://127.0.0.1:$port/api/events?code=hookgate-load-secret"
((WARMUP == 0)) || taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$here/event.lua" "$url" -- "lwarm-$$" >/dev/null
callgrind_control -z "$pid" >/dev/null 2>&1
line=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/event.lua" "$url" -- "lprof-$$" | grep '^WRK ')
callgrind_control -d "$pid" >/dev/null 2>&1
kill "$pid"
wait "$pid" 2>/dev/null || true
grep -q ' non2xx=0 connect=0 read=0 write=0 status=0 timeout=0 ' <<<"$line" || { echo "profile-listen: not every answer was 2xx: $line" >&2; exit 1; }
requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
# As profile.sh: the dump's total, and its calls of malloc.
read -r instructions mallocs < <(awk -f "$here/counts.awk" "$out.1")
echo "listen $*: $requests requests, $((instructions / requests)) instructions and $((mallocs / requests)) mallocs a request (dump: $out.1)"
