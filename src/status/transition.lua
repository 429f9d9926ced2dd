-- Applies a patch to one batch, atomically, and never leaves a terminal state. The call that ends a batch
-- also ends its share of every purge it carries (the fan-in), once: a re-run finds the batch final and
-- changes nothing.
-- KEYS[1] batch hash; KEYS[2] the CDN's open batches; KEYS[3] callbacks due; KEYS[4] the batch job's hash
-- (BullMQ's, same hash tag) when ARGV[5] or ARGV[6] is set, else KEYS[1] again, unused; KEYS[5..] quota
-- counters the batch was charged to.
-- ARGV[1] JSON patch; ARGV[2] JSON increments; ARGV[3] now (ms); ARGV[4] key prefix; ARGV[5] the job's next
-- data ('' for none: written as BullMQ's updateData writes it, only to a job that exists, whatever the
-- batch's state, so the job and its record move on in one call); ARGV[6] the job's progress as JSON ('' for
-- none: written as BullMQ's updateProgress writes it, without its event, which nothing here listens for: a
-- batch's end shows 100 on the dashboard with no call of its own); ARGV[7..] the amount charged to each of
-- KEYS[5..]. A batch that ends without the CDN ever having accepted it (no remoteId) gives its charges back
-- in the same call: exactly once, no crash window between the two.
-- Purge records are addressed by prefix (which ones is in the batch); they share the prefix's hash tag.
-- Returns { result, n, callbacks due (n of them)..., finished... }: result 1 applied, 0 refused (already
-- terminal), -1 no such batch; then the ids of carried purges that have finished and have a callback URL
-- (also on a re-run, so a crash right after the batch ended cannot lose a callback: scheduling one is
-- idempotent); then, for each carried purge this call finished (only this one: a re-run finishes none), its
-- id, its state and the code its first failed (else timed-out) batch ended with ('' for none).
if (ARGV[5] ~= '' or ARGV[6] ~= '') and redis.call('EXISTS', KEYS[4]) == 1 then
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], 'data', ARGV[5]) end
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], 'progress', ARGV[6]) end
end
local raw = redis.call('HGET', KEYS[1], 'status')
if not raw then return { -1, 0 } end
local batch = cjson.decode(raw)
local function terminal(state)
  return state == 'succeeded' or state == 'failed' or state == 'timed_out' or state == 'stale'
end

local carries = nil
local function carried()
  carries = carries or cjson.decode(redis.call('HGET', KEYS[1], 'carries') or '{}')
  return carries
end
local function callbacksDue()
  local due = {}
  for purgeId in pairs(carried()) do
    local record = ARGV[4] .. ':purge:' .. purgeId
    local left = tonumber(redis.call('HGET', record, 'remaining'))
    if left and left <= 0 and redis.call('HEXISTS', record, 'callbackUrl') == 1 then due[#due + 1] = purgeId end
  end
  return due
end

if terminal(batch.state) then
  local due = callbacksDue()
  return { 0, #due, unpack(due) }
end

for key, value in pairs(cjson.decode(ARGV[1])) do
  if value == cjson.null then batch[key] = nil else batch[key] = value end
end
local increments = cjson.decode(ARGV[2])
for key, value in pairs(increments) do
  batch[key] = (tonumber(batch[key]) or 0) + value
end
local now = tonumber(ARGV[3])
batch.updatedAt = now
-- Each poll as the batch saw it (when, the progress, the code of a poll that failed), the last 50 of
-- them, beside the status so reading a status never carries it: what the purge explorer's timeline shows.
if (tonumber(increments.polls) or 0) > 0 then
  local log = cjson.decode(redis.call('HGET', KEYS[1], 'pollLog') or '[]')
  local entry = { at = now, polls = batch.polls, progress = batch.progress, errorCode = batch.errorCode }
  log[#log + 1] = entry
  while #log > 50 do table.remove(log, 1) end
  redis.call('HSET', KEYS[1], 'pollLog', cjson.encode(log))
end
if not terminal(batch.state) then
  redis.call('HSET', KEYS[1], 'status', cjson.encode(batch))
  return { 1, 0 }
end

batch.finishedAt = now
redis.call('HSET', KEYS[1], 'status', cjson.encode(batch))
redis.call('ZREM', KEYS[2], batch.batchId)
-- A batch whose edges stayed stale failed its purges: the CDN said done, the old copy is still served.
local counted = batch.state == 'stale' and 'failed' or batch.state
local counter = ({ succeeded = 'ok:', failed = 'failed:', timed_out = 'timedout:' })[counted] .. batch.cdnId
-- The purge's end reads worst first, as its status does: any target failed, else any timed out.
local function ending(record)
  local fields = redis.call('HGETALL', record)
  local failed, timedOut = false, false
  for i = 1, #fields, 2 do
    local name, value = fields[i], tonumber(fields[i + 1]) or 0
    if value > 0 and string.sub(name, 1, 7) == 'failed:' then failed = true end
    if value > 0 and string.sub(name, 1, 9) == 'timedout:' then timedOut = true end
  end
  if failed then return 'failed', redis.call('HGET', record, 'code:failed') or '' end
  if timedOut then return 'timed_out', redis.call('HGET', record, 'code:timed_out') or '' end
  return 'succeeded', ''
end
local finished = {}
for purgeId, count in pairs(carried()) do
  local record = ARGV[4] .. ':purge:' .. purgeId
  if redis.call('EXISTS', record) == 1 then
    redis.call('HINCRBY', record, counter, count)
    -- Why it did not succeed, for its end to tell: the first such batch's code, per way of ending.
    if counted ~= 'succeeded' then
      redis.call('HSETNX', record, 'code:' .. counted, batch.errorCode or '')
    end
    -- Counting down (rather than scanning batches) keeps this O(purges carried), whatever their size.
    local left = redis.call('HINCRBY', record, 'remaining', -count)
    if left <= 0 and redis.call('HEXISTS', record, 'finishedAt') == 0 then
      redis.call('HSET', record, 'finishedAt', now)
      local state, code = ending(record)
      finished[#finished + 1] = purgeId
      finished[#finished + 1] = state
      finished[#finished + 1] = code
    end
  end
end
if batch.remoteId == nil then
  for i = 5, #KEYS do
    -- Never below zero: the counter may have expired (a new day) since the charge.
    local held = tonumber(redis.call('GET', KEYS[i])) or 0
    local give = math.min(held, tonumber(ARGV[i + 2]) or 0)
    if give > 0 then redis.call('DECRBY', KEYS[i], give) end
  end
end
-- The callbacks this call makes due are recorded with it: whoever schedules them confirms it (store.ts), and
-- the reconciler schedules any still unconfirmed, so a crash right after this call cannot lose one.
local due = callbacksDue()
for _, purgeId in ipairs(due) do redis.call('ZADD', KEYS[3], 'NX', now, purgeId) end
local reply = { 1, #due }
for _, purgeId in ipairs(due) do reply[#reply + 1] = purgeId end
for _, value in ipairs(finished) do reply[#reply + 1] = value end
return reply
