-- Writes a new purge record, unless an idempotency key already names an earlier purge.
-- KEYS[1] purge hash; KEYS[2] idempotency key (KEYS[1] again when there is none: every key must stay in
-- the prefix's hash slot on Redis Cluster, so no placeholder name is passed)
-- ARGV[1] purge id; ARGV[2] record TTL (s); ARGV[3] idempotency window (s); ARGV[4] '1' with a key;
-- ARGV[5..] field, value pairs.
-- Returns the purge id that owns the request: ARGV[1] when written, the earlier one for a repeat.
if ARGV[4] == '1' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return earlier end
  redis.call('SET', KEYS[2], ARGV[1], 'EX', tonumber(ARGV[3]))
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return ARGV[1]
