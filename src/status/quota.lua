-- Reserves items against daily quotas, all or nothing.
-- KEYS[i] quota counters; ARGV[1] TTL (s); then per key: ARGV[2i] amount, ARGV[2i+1] limit.
-- Returns 0 when reserved, else the 1-based index of the first key that would go over its limit.
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key)) or 0
  if used + tonumber(ARGV[2 * i]) > tonumber(ARGV[2 * i + 1]) then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, tonumber(ARGV[2 * i]))
  redis.call('EXPIRE', key, tonumber(ARGV[1]))
end
return 0
