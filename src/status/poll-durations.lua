-- One more task duration in a CDN's histogram (status/poll-durations.ts), decayed in the same call.
-- KEYS[1] the histogram hash; ARGV[1] the bucket, ARGV[2] the total at which every count is halved,
-- ARGV[3] its time to live in seconds.
local key = KEYS[1]
redis.call('HINCRBY', key, ARGV[1], 1)
local counts = redis.call('HGETALL', key)
local total = 0
for i = 2, #counts, 2 do total = total + tonumber(counts[i]) end
if total > tonumber(ARGV[2]) then
  for i = 1, #counts, 2 do
    local halved = math.floor(tonumber(counts[i + 1]) / 2)
    if halved > 0 then
      redis.call('HSET', key, counts[i], halved)
    else
      redis.call('HDEL', key, counts[i])
    end
  end
end
redis.call('EXPIRE', key, ARGV[3])
return total
