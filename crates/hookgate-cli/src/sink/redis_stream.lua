-- The redis-stream sink's script (sink/redis_stream.rs); the direct-publish
-- benchmark (crates/hookgate-bench/src/bin/broker_load.rs) runs the same one.
local stored = redis.call('GET', KEYS[1])
if stored then
  return {0, stored}
end
local id
if ARGV[2] ~= '0' then
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
else
  id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
end
redis.call('SET', KEYS[1], id, 'PX', ARGV[1])
return {1, id}
