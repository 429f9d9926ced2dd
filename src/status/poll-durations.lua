-- Task durations seen to end, added to a CDN's histogram (status/poll-durations.ts) one at a time in the
-- order given, each decayed as the pure rule does (pipeline/duration-prior.ts recordDuration): a call with
-- many durations leaves the hash exactly as that many calls of one would.
-- KEYS[1] the histogram hash; ARGV[1] the total at which every count is halved; ARGV[2] its time to live in
-- seconds; ARGV[3..] the durations' buckets.
local key = KEYS[1]
local decayAt = tonumber(ARGV[1])
local flat = redis.call('HGETALL', key)
local counts = {}
local total = 0
for i = 1, #flat, 2 do
  counts[flat[i]] = tonumber(flat[i + 1])
  total = total + counts[flat[i]]
end
for i = 3, #ARGV do
  local bucket = ARGV[i]
  counts[bucket] = (counts[bucket] or 0) + 1
  total = total + 1
  if total > decayAt then
    total = 0
    for field, count in pairs(counts) do
      local halved = math.floor(count / 2)
      -- Clearing a field while traversing is allowed in Lua; no field is added here.
      if halved > 0 then counts[field] = halved else counts[field] = nil end
      total = total + halved
    end
  end
end
-- At most 64 buckets: rewritten whole, so a bucket halved away is gone too.
local fields = {}
for field, count in pairs(counts) do
  fields[#fields + 1] = field
  fields[#fields + 1] = count
end
redis.call('DEL', key)
if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
redis.call('EXPIRE', key, ARGV[2])
return total
