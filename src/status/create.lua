-- Writes a new purge record, unless an idempotency key already names an earlier purge.
-- KEYS[1] purge hash; KEYS[2] idempotency key (KEYS[1] again when there is none: every key must stay in
-- the prefix's hash slot on Redis Cluster, so no placeholder name is passed)
-- KEYS[3] the purge's plan.
-- ARGV[1] purge id; ARGV[2] record TTL (s); ARGV[3] idempotency window (s); ARGV[4] '1' with a key;
-- ARGV[5] the request's fingerprint; ARGV[6] the plan (JSON); ARGV[7..] field, value pairs.
-- Returns { purge id, outcome }: outcome 'created' (ARGV[1] written), 'repeat' (the earlier purge, same
-- request) or 'conflict' (the earlier purge, a different request: nothing written).
if ARGV[4] == '1' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then
    local space = string.find(earlier, ' ', 1, true)
    -- A value without a fingerprint predates fingerprints: taken as the same request.
    if not space then return { earlier, 'repeat' } end
    local id = string.sub(earlier, 1, space - 1)
    if string.sub(earlier, space + 1) == ARGV[5] then return { id, 'repeat' } end
    return { id, 'conflict' }
  end
  redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. ARGV[5], 'EX', tonumber(ARGV[3]))
end
redis.call('SET', KEYS[3], ARGV[6], 'EX', tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return { ARGV[1], 'created' }
