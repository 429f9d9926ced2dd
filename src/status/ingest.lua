-- Accepts a purge in one step: its idempotency key, daily quota, record, plan, and its targets in each CDN's
-- pending set. Nothing else is ever written before it, so a crash leaves either all of it or none of it.
-- KEYS[1] purge hash; KEYS[2] idempotency key (KEYS[1] again when there is none: every key must stay in the
-- prefix's hash slot on Redis Cluster, so no placeholder name is passed); KEYS[3] the purge's plan;
-- KEYS[4..] each CDN's pending set and waiting hash, then the quota counters (indexes in ARGV[8]).
-- ARGV[1] purge id; ARGV[2] record TTL (s); ARGV[3] idempotency window (s); ARGV[4] '1' with a key;
-- ARGV[5] the request's fingerprint; ARGV[6] the plan (JSON); ARGV[7] now (ms);
-- ARGV[8] JSON { lane, cdns = [{ id, lanes = { urgent, normal, bulk }, waiting, urls?, dirs?, allUrls,
--               allDirs, maxBulk, targets = [...] }], quotas = [{ key, limit }], index } where lanes (the
--               CDN's pending set per lane), waiting, key and index (the purge index, listing's) are KEYS
--               indexes, urls/dirs index quotas, lane is the purge's ('urgent', 'normal' or 'bulk') and
--               maxBulk the CDN's bulk backlog limit (0: none); ARGV[9..] record field, value pairs.
-- A target is a kind letter, a space and the canonical value ('u https://...', 'd https://.../', 'p ^re$',
-- 'a'). One already pending for the CDN is joined, not added again: the new purge waits on the same batch,
-- and the daily quota is charged only for what will really be sent. A target waits in one lane only: asked
-- for in a more urgent lane than it waits in, it moves there, as accepted now.
-- Returns { purge id, outcome, detail... }: outcome 'created', 'repeat' or 'conflict' (the earlier purge),
-- 'quota' (then the index of the quota that would overflow, and its use), or 'shed' (a bulk purge while
-- the CDN's bulk backlog is full: then the CDN's index, and the backlog).
if ARGV[4] == '1' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then
    local space = string.find(earlier, ' ', 1, true)
    local id = string.sub(earlier, 1, space - 1)
    if string.sub(earlier, space + 1) == ARGV[5] then return { id, 'repeat' } end
    return { id, 'conflict' }
  end
end

local spec = cjson.decode(ARGV[8])
local now = tonumber(ARGV[7])
local id = ARGV[1]
local LANES = { 'urgent', 'normal', 'bulk' }
local RANK = { urgent = 1, normal = 2, bulk = 3 }

-- Shed before anything is looked at: only bulk, only while the CDN's bulk backlog is full.
if spec.lane == 'bulk' then
  for c, cdn in ipairs(spec.cdns) do
    if cdn.maxBulk > 0 then
      local backlog = redis.call('ZCARD', KEYS[cdn.lanes.bulk])
      if backlog >= cdn.maxBulk then return { '', 'shed', c, backlog } end
    end
  end
end

-- The lane a target already waits in for a CDN, or nil.
local function waitsIn(cdn, target)
  for _, lane in ipairs(LANES) do
    if redis.call('ZSCORE', KEYS[cdn.lanes[lane]], target) ~= false then return lane end
  end
  return nil
end

-- What is new for each CDN decides the charge; a target listed twice in one request counts once.
local needed = {}
local fresh = {}
local moved = {}
for c, cdn in ipairs(spec.cdns) do
  fresh[c] = {}
  moved[c] = {}
  local seen = {}
  for _, target in ipairs(cdn.targets) do
    local lane = not seen[target] and waitsIn(cdn, target)
    if lane and RANK[spec.lane] < RANK[lane] then moved[c][target] = lane end
    if lane == nil then
      fresh[c][target] = true
      local kind = string.sub(target, 1, 1)
      local quota = (kind == 'u' and cdn.urls) or (kind == 'd' and cdn.dirs) or nil
      if quota then needed[quota] = (needed[quota] or 0) + 1 end
      -- `all` is what the CDN makes of it (QUANTIL: a dir-url per domain), charged as such.
      if kind == 'a' then
        if cdn.urls and cdn.allUrls > 0 then needed[cdn.urls] = (needed[cdn.urls] or 0) + cdn.allUrls end
        if cdn.dirs and cdn.allDirs > 0 then needed[cdn.dirs] = (needed[cdn.dirs] or 0) + cdn.allDirs end
      end
    end
    seen[target] = true
  end
end
for q, quota in ipairs(spec.quotas) do
  local used = tonumber(redis.call('GET', KEYS[quota.key])) or 0
  if needed[q] and used + needed[q] > quota.limit then return { '', 'quota', q, used } end
end

if ARGV[4] == '1' then redis.call('SET', KEYS[2], id .. ' ' .. ARGV[5], 'EX', tonumber(ARGV[3])) end
redis.call('SET', KEYS[3], ARGV[6], 'EX', tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
for q, quota in ipairs(spec.quotas) do
  if needed[q] then
    redis.call('INCRBY', KEYS[quota.key], needed[q])
    redis.call('EXPIRE', KEYS[quota.key], 2 * 86400)
  end
end

local remaining = 0
for c, cdn in ipairs(spec.cdns) do
  local pending, waiting = KEYS[cdn.lanes[spec.lane]], KEYS[cdn.waiting]
  local count = 0
  local seen = {}
  for _, target in ipairs(cdn.targets) do
    if not seen[target] then
      seen[target] = true
      count = count + 1
      if fresh[c][target] then
        redis.call('ZADD', pending, now, target)
      elseif moved[c][target] then
        -- Its new lane's window and queue deadline count from now, when a more urgent purge asked for it:
        -- kept at its first acceptance, an urgent deadline added to a long wait in bulk would already
        -- have passed, and the target would end timed_out unsent.
        local from = KEYS[cdn.lanes[moved[c][target]]]
        redis.call('ZREM', from, target)
        redis.call('ZADD', pending, now, target)
      end
      local waiters = redis.call('HGET', waiting, target)
      redis.call('HSET', waiting, target, waiters and (waiters .. ' ' .. id) or id)
    end
  end
  redis.call('HSET', KEYS[1], 'n:' .. cdn.id, count)
  remaining = remaining + count
end
redis.call('HSET', KEYS[1], 'remaining', remaining)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
-- The list's index (KEYS[spec.index]) expires with the records: entries past their TTL are dropped here.
redis.call('ZADD', KEYS[spec.index], now, id)
redis.call('ZREMRANGEBYSCORE', KEYS[spec.index], '-inf', string.format('(%d', now - tonumber(ARGV[2]) * 1000))
redis.call('EXPIRE', KEYS[spec.index], tonumber(ARGV[2]))
return { id, 'created' }
