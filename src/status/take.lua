-- Moves the oldest pending targets of one CDN into a new batch, as much as one CDN call takes, and tells
-- every purge waiting on them that this batch carries them. One call per flush job: a re-run of the same job
-- (after a crash) finds its marker and gets the same batch back, so no target is ever in two unsent batches.
-- The lanes are taken in order: urgent targets first, then normal, then bulk fill what is left of the call,
-- so the next call a rate limit allows carries the urgent ones, and no call goes out less full than it could.
-- KEYS[1..3] the pending sets of the urgent, normal and bulk lanes; KEYS[4] waiting hash; KEYS[5] the flush
-- job's marker; KEYS[6] the new batch's hash; KEYS[7] the CDN's open batches; KEYS[8] the flush job's BullMQ
-- deduplication key (any key when ARGV[11] is '').
-- ARGV[1] batch id; ARGV[2] cdn id; ARGV[3] now (ms); ARGV[4] most items per call; ARGV[5] most characters of
-- targets per call (0: no limit); ARGV[6] key prefix; ARGV[7] each lane's queue deadline, 'urgent,normal,bulk'
-- (ms after a target's acceptance: the batch's deadline is the earliest of its targets'); ARGV[8] TTL of the
-- batch and marker (s); ARGV[9] what of a URL the character limit counts:
-- 'path' (path and query: what a VIMS pattern with patternScope path holds) or 'url' (all of it); ARGV[10]
-- '1' when the caller submits the batch next: the take then also claims it for that submit, as the submit's
-- own claim would (state `submitting`, one more attempt; never a batch that has ended, nor one past its queue
-- deadline, which the caller ends instead), so the submit needs no transition of its own before its call;
-- ARGV[11] the flush job's id, or '' for a take that drops no deduplication key; ARGV[12] '1' to take only a
-- full call (an extra flush slot's take): what would not fill one is left for the CDN's own flush, which sends
-- it once its window is up, so a drain in parallel sends no call less full than one at a time would;
-- ARGV[13] most dirs and most tags per call, 'dirs,tags' (0: only the item limit; CloudFront's wildcards,
-- Fastly's 256 surrogate keys): a kind at its cap is passed over, and the call fills with other kinds.
-- Purge records are addressed by prefix here rather than passed in: which purges a batch carries is only
-- known inside this call. They share the prefix's hash tag, so on Redis Cluster they sit in this slot.
-- Returns { batch id ('' when nothing was taken), targets still pending (all lanes), its deadline, when its
-- oldest target was accepted, how many it took, when the oldest normal target left pending was accepted (0:
-- none), its target and the purges it carries (JSON: what the submit needs, without reading the batch again),
-- the same for the oldest urgent and bulk targets left, the batch's lane, 1 if this call claimed it else 0 }.
local LANES = { 'urgent', 'normal', 'bulk' }
local PENDING = { KEYS[1], KEYS[2], KEYS[3] }
local WAITING, MARKER, BATCH, OPEN = KEYS[4], KEYS[5], KEYS[6], KEYS[7]

-- The flush's deduplication key goes first, as BullMQ's Job.removeDeduplicationKey drops it (only while it
-- still names this job): a target accepted from now on gets a flush of its own instead of being folded into
-- this one, which is taking now. In the take's own call, no window is left between the two.
if ARGV[11] ~= '' and redis.call('GET', KEYS[8]) == ARGV[11] then redis.call('DEL', KEYS[8]) end

local function oldestAt(key)
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tonumber(first[2]) or 0
end

local now = tonumber(ARGV[3])

-- The submit's claim (transition.lua's terminal states; the claim is a patch of the state and a counter).
local function claim(status)
  if ARGV[10] ~= '1' then return 0 end
  local state = status.state
  if state == 'succeeded' or state == 'failed' or state == 'timed_out' or state == 'stale' then return 0 end
  if now >= status.deadlineAt then return 0 end
  status.state = 'submitting'
  status.attempts = (tonumber(status.attempts) or 0) + 1
  status.updatedAt = now
  return 1
end

-- `fresh`: the batch this call just built ({ status, target, carries, claimed }), not read back.
local function answer(batchId, fresh)
  local left = 0
  local oldestOf = {}
  for l, key in ipairs(PENDING) do
    local count = redis.call('ZCARD', key)
    left = left + count
    -- An empty lane (most often two of the three) has no oldest target to read.
    oldestOf[l] = count > 0 and oldestAt(key) or 0
  end
  local urgentAt, normalAt, bulkAt = oldestOf[1], oldestOf[2], oldestOf[3]
  local status, target, carries, claimed
  if fresh then
    status, target, carries, claimed = fresh.status, fresh.target, fresh.carries, fresh.claimed
  else
    local batch = batchId ~= '' and redis.call('HMGET', BATCH, 'status', 'target', 'carries') or {}
    -- Nothing taken, or a marker that outlived its batch (expired): nothing to send.
    if not batch[1] then return { '', left, 0, 0, 0, normalAt, '', '', urgentAt, bulkAt, '', 0 } end
    status, target, carries = cjson.decode(batch[1]), batch[2], batch[3]
    -- A re-run of the flush (after a crash) claims its batch again, as a re-run's submit would.
    claimed = claim(status)
    if claimed == 1 then redis.call('HSET', BATCH, 'status', cjson.encode(status)) end
  end
  return { batchId, left, status.deadlineAt, status.acceptedAt, status.items, normalAt, target, carries,
    urgentAt, bulkAt, status.lane or 'normal', claimed }
end
local marker = redis.call('GET', MARKER)
if marker then return answer(marker) end

local maxItems = tonumber(ARGV[4])
local maxChars = tonumber(ARGV[5])
local kindCap = { d = 0, t = 0 }
do
  local caps = {}
  for n in string.gmatch(ARGV[13] or '', '%d+') do caps[#caps + 1] = tonumber(n) end
  kindCap.d, kindCap.t = caps[1] or 0, caps[2] or 0
end
local kindTaken = { d = 0, t = 0 }
-- Members of a capped kind passed over in one take: bounded, so a backlog of one kind is not scanned whole.
local passedOver, MAX_PASSED_OVER = 0, 1000
local queueDeadline = {}
for ms in string.gmatch(ARGV[7], '%d+') do queueDeadline[#queueDeadline + 1] = tonumber(ms) end
local picked = {}
local oldest = nil
-- The earliest of the picked targets' queue deadlines (each by its lane's).
local deadline = nil
local function pick(member, l, at)
  picked[#picked + 1] = { member, l }
  if oldest == nil or at < oldest then oldest = at end
  local due = at + queueDeadline[l]
  if deadline == nil or due < deadline then deadline = due end
end

local function escapedLength(text)
  local _, specials = string.gsub(text, '[%^%$%.%*%+%?%(%)%[%]%{%}%|/\\]', '')
  return #text + specials
end

-- What one target costs of the character limit: its escaped text and a separator, counting only the path and
-- query of a URL or dir when that is all the call holds of it.
local function cost(target)
  local value = string.sub(target, 3)
  if ARGV[9] == 'path' then
    local host = string.find(value, '://', 1, true)
    local path = host and string.find(value, '/', host + 3, true)
    if path then value = string.sub(value, path) end
  end
  return escapedLength(value) + 1
end

-- `picked` holds { member, the lane it waits in } pairs.
local all = false
for _, key in ipairs(PENDING) do
  if redis.call('ZSCORE', key, 'a') then all = true end
end
local lane = nil
-- Whether a kind reached its per-call cap (the call is full for it).
local capped = false
-- Whether the call is full: it ends where the next target would not fit (or at `all`, or at a pattern).
local full = true
if all then
  -- Purging everything covers whatever else is pending for this CDN, in every lane: one call, every waiter
  -- answered.
  for l, key in ipairs(PENDING) do
    local members = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    for i = 1, #members, 2 do pick(members[i], l, tonumber(members[i + 1])) end
    if #members > 0 and lane == nil then lane = LANES[l] end
  end
else
  local chars = 0
  local done = false
  for l, key in ipairs(PENDING) do
    local start = 0
    -- Read in growing chunks: a call that holds a few targets (a CDN's small limit, a lone purge) reads a
    -- few, not 200 members with their scores, and a long one still takes few reads.
    local size = 16
    while not done do
      local chunk = redis.call('ZRANGE', key, start, start + size - 1, 'WITHSCORES')
      if #chunk == 0 then break end
      for i = 1, #chunk, 2 do
        local target = chunk[i]
        local kind = string.sub(target, 1, 1)
        local charge = cost(target)
        local at = tonumber(chunk[i + 1])
        if kind == 'p' then
          -- A pattern is a call of its own: taken alone when it comes first, otherwise left for the next.
          if #picked == 0 then
            pick(target, l, at)
            lane = LANES[l]
          end
          done = true
          break
        end
        if #picked >= maxItems or (maxChars > 0 and #picked > 0 and chars + charge > maxChars) then
          done = true
          break
        end
        local cap = kindCap[kind]
        if cap and cap > 0 and kindTaken[kind] >= cap then
          -- This kind's share of the call is full: a later call takes it.
          capped = true
          passedOver = passedOver + 1
          if passedOver >= MAX_PASSED_OVER then
            done = true
            break
          end
        else
          if cap then kindTaken[kind] = kindTaken[kind] + 1 end
          pick(target, l, at)
          chars = chars + charge
          lane = lane or LANES[l]
        end
      end
      start = start + size
      size = math.min(size * 2, 256)
    end
    if done then break end
  end
  full = done or capped or #picked >= maxItems
end

if #picked == 0 or (ARGV[12] == '1' and not full) then
  redis.call('SET', MARKER, '', 'EX', tonumber(ARGV[8]))
  return answer('')
end

local target = { urls = {}, dirs = {} }
local carries = {}
local repurgeOnly = {}
for _, entry in ipairs(picked) do
  local member = entry[1]
  local kind = string.sub(member, 1, 1)
  local value = string.sub(member, 3)
  if not all then
    if kind == 'u' then target.urls[#target.urls + 1] = value
    elseif kind == 'd' then target.dirs[#target.dirs + 1] = value
    elseif kind == 't' then
      target.tags = target.tags or {}
      target.tags[#target.tags + 1] = value
    elseif kind == 'p' then target.pattern = value end
  end
  redis.call('ZREM', PENDING[entry[2]], member)
  local waiters = redis.call('HGET', WAITING, member)
  redis.call('HDEL', WAITING, member)
  if waiters then
    local onlyRepurges = true
    for purgeId in string.gmatch(waiters, '%S+') do
      carries[purgeId] = (carries[purgeId] or 0) + 1
      if string.sub(purgeId, 1, 3) ~= 'rp-' then onlyRepurges = false end
    end
    -- A target only verification re-purges (ids `rp-...`) asked for is checked (and repeated) by the batch
    -- that sent them: checked here too, a copy still stale would send a re-purge of its own, and so on.
    if onlyRepurges then repurgeOnly[#repurgeOnly + 1] = member end
  end
end
if all then target.all = true end

local ttl = tonumber(ARGV[8])
local items = all and 1 or #picked
local status = {
  batchId = ARGV[1], cdnId = ARGV[2], state = 'queued', items = items, attempts = 0, polls = 0,
  queuedAt = now, updatedAt = now, acceptedAt = oldest, deadlineAt = deadline, purges = 0,
  lane = lane,
}
local carried = {}
for purgeId, count in pairs(carries) do
  local record = ARGV[6] .. ':purge:' .. purgeId
  -- A purge taken back (or expired) since it was accepted has no record to tell.
  if redis.call('EXISTS', record) == 1 then
    redis.call('HSET', record, 'b:' .. ARGV[1], count)
    carried[purgeId] = count
    status.purges = status.purges + 1
  end
end
local claimed = claim(status)
-- cjson writes an empty table as {}, which reads back as an object either way.
local fresh = { status = status, target = cjson.encode(target), carries = cjson.encode(carried), claimed = claimed }
redis.call('HSET', BATCH, 'status', cjson.encode(status), 'target', fresh.target, 'carries', fresh.carries)
if #repurgeOnly > 0 then redis.call('HSET', BATCH, 'repurgeOnly', cjson.encode(repurgeOnly)) end
redis.call('EXPIRE', BATCH, ttl)
redis.call('ZADD', OPEN, now, ARGV[1])
redis.call('SET', MARKER, ARGV[1], 'EX', ttl)
return answer(ARGV[1], fresh)
