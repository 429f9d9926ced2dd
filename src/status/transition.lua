-- Applies a patch to one batch of a purge record, atomically, and never leaves a terminal state.
-- KEYS[1] purge hash; KEYS[2..] quota counters the batch was charged to; ARGV[1] batch field; ARGV[2] JSON
-- patch; ARGV[3] JSON increments; ARGV[4] now (ms); ARGV[5..] the amount charged to each of KEYS[2..].
-- A batch that ends here without the CDN ever having accepted it (no remoteId) gives its charges back, in
-- the same call that ends it: exactly once, and no crash window between the two.
-- Returns { result, remaining, callbackDue }: result 1 applied, 0 refused (batch already terminal), -1 no
-- such batch (record expired or never written); remaining = batches of the purge not yet terminal;
-- callbackDue 1 when none remain and the purge has a callback URL (so no caller has to read the record).
local function callbackDue(remaining)
  if remaining <= 0 and redis.call('HEXISTS', KEYS[1], 'callbackUrl') == 1 then return 1 end
  return 0
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return { -1, 0, 0 } end
local batch = cjson.decode(raw)
local function terminal(state)
  return state == 'succeeded' or state == 'failed' or state == 'timed_out'
end
if terminal(batch.state) then
  local left = tonumber(redis.call('HGET', KEYS[1], 'remaining')) or 0
  return { 0, left, callbackDue(left) }
end
local patch = cjson.decode(ARGV[2])
for key, value in pairs(patch) do
  if value == cjson.null then batch[key] = nil else batch[key] = value end
end
for key, value in pairs(cjson.decode(ARGV[3])) do
  batch[key] = (tonumber(batch[key]) or 0) + value
end
batch.updatedAt = tonumber(ARGV[4])
if terminal(batch.state) then batch.finishedAt = tonumber(ARGV[4]) end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(batch))
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining')) or 0
if terminal(batch.state) then
  -- Counting down (rather than scanning batches) keeps this O(1) and works unchanged once one batch
  -- carries URLs of many purges: each purge record is lowered by its own call.
  remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
  if batch.remoteId == nil then
    for i = 2, #KEYS do
      -- Never below zero: the counter may have expired (a new day) since the charge.
      local held = tonumber(redis.call('GET', KEYS[i])) or 0
      local give = math.min(held, tonumber(ARGV[i + 3]) or 0)
      if give > 0 then redis.call('DECRBY', KEYS[i], give) end
    end
  end
  if remaining <= 0 then
    redis.call('HSET', KEYS[1], 'finishedAt', ARGV[4])
  end
end
return { 1, remaining, callbackDue(remaining) }
