-- A dry run's reads, in one call so they are one consistent moment: what ingest.lua would find if the
-- request were accepted now. Reads only: no key is written, created, touched or given a TTL.
-- KEYS[1] the idempotency key when ARGV[1] is '1'; then each CDN's pending sets (urgent, normal, bulk: three
-- keys per CDN), in ARGV[4]'s order; then the daily quota counters.
-- ARGV[1] '1' with an idempotency key; ARGV[2] the request's fingerprint; ARGV[3] most pending targets read
-- per CDN and lane (oldest first); ARGV[4] JSON: per CDN, the request's targets as pending-set members.
-- Returns { idempotency, cdns, used }: idempotency is {} or { earlier purge id, '1' same request / '0' not };
-- cdns is, per CDN, { ZCARD per lane (urgent, normal, bulk), a letter per target: the lane it already waits
-- in ('u', 'n', 'b') or '0', then per lane its oldest members WITHSCORES }; used is each counter's value
-- ('' when unset).
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

local LETTERS = { 'u', 'n', 'b' }
local limit = tonumber(ARGV[3])
local spec = cjson.decode(ARGV[4])
local cdns = {}
for c, members in ipairs(spec) do
  local keys = {}
  for l = 1, 3 do keys[l] = KEYS[first + (c - 1) * 3 + l - 1] end
  local joined = {}
  for i, member in ipairs(members) do
    joined[i] = '0'
    for l = 1, 3 do
      if joined[i] == '0' and redis.call('ZSCORE', keys[l], member) then joined[i] = LETTERS[l] end
    end
  end
  local counts, oldest = {}, {}
  for l = 1, 3 do
    counts[l] = redis.call('ZCARD', keys[l])
    oldest[l] = limit > 0 and redis.call('ZRANGE', keys[l], 0, limit - 1, 'WITHSCORES') or {}
  end
  cdns[c] = { counts, table.concat(joined), oldest }
end

local used = {}
for q = first + #spec * 3, #KEYS do used[#used + 1] = redis.call('GET', KEYS[q]) or '' end
return { idempotency, cdns, used }
