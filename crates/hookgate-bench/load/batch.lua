-- wrk script of the batch load (crates/hookgate-bench/load/interleaved.sh, a label
-- with @batch): every request POSTs a structured batch
-- (`application/cloudevents-batch+json`) of BATCH events (100), each with event.lua's
-- attributes and 147-byte JSON data and an id of its own (`<run>-<thread>-<n>-<k>`).
--
--   wrk ... -s batch.lua URL -- <run name>
--
-- Its done() prints the same WRK line as event.lua's (requests are batches).

local BATCH = 100
local data = '{"orderId":"ord-20240501-000123","customer":"cust-4711","total":12999,'
  .. '"currency":"EUR","items":3,"express":false,"placedAt":"2024-05-01T12:00:00Z"}'

thread_id = 0
local host
local prefix
local n = 0
non2xx = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  local run = args[1] or "run"
  host = wrk.headers["Host"]
  prefix = run .. "-" .. tostring(thread_id) .. "-"
end

function request()
  n = n + 1
  local events = {}
  for k = 1, BATCH do
    events[k] = '{"specversion":"1.0","id":"' .. prefix .. n .. '-' .. k
      .. '","source":"/hookgate/load","type":"com.example.order.placed",'
      .. '"datacontenttype":"application/json","data":' .. data .. '}'
  end
  local body = '[' .. table.concat(events, ',') .. ']'
  return "POST " .. wrk.path .. " HTTP/1.1\r\n"
    .. "Host: " .. host .. "\r\n"
    .. "content-type: application/cloudevents-batch+json\r\n"
    .. "content-length: " .. #body .. "\r\n\r\n" .. body
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
