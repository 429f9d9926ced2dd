-- A dry run's reads, in one call so they are one consistent moment: what ingest.lua would find if the
-- request were accepted now. Reads only: no key is written, created, touched or given a TTL.
-- KEYS[1] the idempotency key when ARGV[1] is '1'; then each CDN's pending set, in ARGV[4]'s order; then the
-- daily quota counters.
-- ARGV[1] '1' with an idempotency key; ARGV[2] the request's fingerprint; ARGV[3] most pending targets read
-- per CDN (oldest first); ARGV[4] JSON: per CDN, the request's targets as pending-set members.
-- Returns { idempotency, cdns, used }: idempotency is {} or { earlier purge id, '1' same request / '0' not };
-- cdns is, per CDN, { ZCARD, a '1'/'0' per target (already pending or not), oldest members WITHSCORES };
-- used is each counter's value ('' when unset).
local first = 1
local idempotency = {}
if ARGV[1] == '1' then
  first = 2
  local earlier = redis.call('GET', KEYS[1])
  if earlier then
    local space = string.find(earlier, ' ', 1, true)
    local same = string.sub(earlier, space + 1) == ARGV[2] and '1' or '0'
    idempotency = { string.sub(earlier, 1, space - 1), same }
  end
end

local limit = tonumber(ARGV[3])
local spec = cjson.decode(ARGV[4])
local cdns = {}
for c, members in ipairs(spec) do
  local key = KEYS[first + c - 1]
  local joined = {}
  for i, member in ipairs(members) do
    joined[i] = redis.call('ZSCORE', key, member) and '1' or '0'
  end
  local oldest = limit > 0 and redis.call('ZRANGE', key, 0, limit - 1, 'WITHSCORES') or {}
  cdns[c] = { redis.call('ZCARD', key), table.concat(joined), oldest }
end

local used = {}
for q = first + #spec, #KEYS do used[#used + 1] = redis.call('GET', KEYS[q]) or '' end
return { idempotency, cdns, used }
