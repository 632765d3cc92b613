-- wrk script of the load benchmark (crates/hookgate-bench/load/run.sh).
--
-- Every request POSTs a new binary-mode CloudEvent to the URL given to wrk (its
-- path and query, `/api/events?code=...`): ce-specversion, ce-id, ce-source,
-- ce-type, `content-type: application/json` and a 147-byte JSON body. ce-id is
-- `<run>-<thread>-<n>` with a counter n, so no two requests of one run, and no two
-- runs given different run names, carry the same (source, id).
--
--   wrk ... -s event.lua URL -- <run name>
--
-- A `-H 'Connection: close'` given to wrk is sent too (a connection per request).
--
-- Every response whose status is not 2xx is counted (response()), and done()
-- prints one line that run.sh reads:
--
--   WRK requests=<n> duration_us=<n> non2xx=<n> connect=<n> read=<n> write=<n>
--       status=<n> timeout=<n> p50_us=<n> p99_us=<n>       (on one line)

local body = '{"orderId":"ord-20240501-000123","customer":"cust-4711","total":12999,'
  .. '"currency":"EUR","items":3,"express":false,"placedAt":"2024-05-01T12:00:00Z"}'

-- per thread (each wrk thread has its own Lua state); thread_id is set by setup()
thread_id = 0
local head
local tail
local n = 0
non2xx = 0

-- in the main state: the threads, to read their counters in done()
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  local run = args[1] or "run"
  head = "POST " .. wrk.path .. " HTTP/1.1\r\n"
    .. "Host: " .. wrk.headers["Host"] .. "\r\n"
    .. "ce-specversion: 1.0\r\n"
    .. "ce-source: /hookgate/load\r\n"
    .. "ce-type: com.example.order.placed\r\n"
    .. "content-type: application/json\r\n"
    .. "content-length: " .. #body .. "\r\n"
    .. (wrk.headers["Connection"] and ("Connection: " .. wrk.headers["Connection"] .. "\r\n") or "")
    .. "ce-id: " .. run .. "-" .. tostring(thread_id) .. "-"
  tail = "\r\n\r\n" .. body
end

function request()
  n = n + 1
  return head .. n .. tail
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
