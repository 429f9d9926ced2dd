-- Accepts a purge in one step: its idempotency key, daily quota, record, plan, and its targets in each CDN's
-- pending set. Nothing else is ever written before it, so a crash leaves either all of it or none of it.
-- KEYS[1] purge hash; KEYS[2] idempotency key (KEYS[1] again when there is none: every key must stay in the
-- prefix's hash slot on Redis Cluster, so no placeholder name is passed); KEYS[3] the purge's plan;
-- KEYS[4..] each CDN's pending set and waiting hash, then the quota counters (indexes in ARGV[8]).
-- ARGV[1] purge id; ARGV[2] record TTL (s); ARGV[3] idempotency window (s); ARGV[4] '1' with a key;
-- ARGV[5] the request's fingerprint; ARGV[6] the plan (JSON); ARGV[7] now (ms);
-- ARGV[8] JSON { cdns = [{ id, pending, waiting, urls?, dirs?, allUrls, allDirs, targets = [...] }],
--               quotas = [{ key, limit }], index } where pending/waiting/key/index are KEYS indexes (index:
--               the purge index, listing's) and urls/dirs index quotas; ARGV[9..] record field, value pairs.
-- A target is a kind letter, a space and the canonical value ('u https://...', 'd https://.../', 'p ^re$',
-- 'a'). One already pending for the CDN is joined, not added again: the new purge waits on the same batch,
-- and the daily quota is charged only for what will really be sent.
-- Returns { purge id, outcome, detail... }: outcome 'created', 'repeat' or 'conflict' (the earlier purge),
-- or 'quota' (then the index of the quota that would overflow, and its use).
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

-- What is new for each CDN decides the charge; a target listed twice in one request counts once.
local needed = {}
local fresh = {}
for c, cdn in ipairs(spec.cdns) do
  fresh[c] = {}
  local seen = {}
  for _, target in ipairs(cdn.targets) do
    if not seen[target] and redis.call('ZSCORE', KEYS[cdn.pending], target) == false then
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
  local pending, waiting = KEYS[cdn.pending], KEYS[cdn.waiting]
  local count = 0
  local seen = {}
  for _, target in ipairs(cdn.targets) do
    if not seen[target] then
      seen[target] = true
      count = count + 1
      if fresh[c][target] then redis.call('ZADD', pending, now, target) end
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
