-- Reserves a batch's share of its CDN's in-progress budget before its submit, or says it does not fit.
-- KEYS[1] the CDN's in-progress hash (batch id -> "<items> <wildcards>").
-- ARGV[1] batch id; ARGV[2] its items; ARGV[3] its wildcards; ARGV[4] most items in progress; ARGV[5] most
-- wildcards in progress (0: no such limit); ARGV[6] key prefix (batch records are `<prefix>:batch:<id>`, in
-- the same hash slot); ARGV[7] TTL of the hash (s).
-- Every entry whose batch has ended (or whose record expired) is dropped first: no step has to give a
-- reservation back, so a crash between a batch's end and any release cannot leak budget. A batch already
-- holding a reservation (a re-run after a crash) keeps it. A batch alone in the budget always fits: it
-- cannot be bigger than the budget (the provider's toBatches), and waiting could never make it fit better.
-- Returns { 1 reserved | 0 does not fit, items in progress (others'), wildcards in progress (others') }.
local entries = redis.call('HGETALL', KEYS[1])
local items, wildcards, held = 0, 0, false
for i = 1, #entries, 2 do
  local batchId, share = entries[i], entries[i + 1]
  local raw = redis.call('HGET', ARGV[6] .. ':batch:' .. batchId, 'status')
  local state = raw and cjson.decode(raw).state
  if not state or state == 'succeeded' or state == 'failed' or state == 'timed_out' or state == 'stale' then
    redis.call('HDEL', KEYS[1], batchId)
  elseif batchId == ARGV[1] then
    held = true
  else
    local n, w = string.match(share, '^(%d+) (%d+)$')
    items = items + (tonumber(n) or 0)
    wildcards = wildcards + (tonumber(w) or 0)
  end
end
if held then return { 1, items, wildcards } end
local wantItems, wantWildcards = tonumber(ARGV[2]), tonumber(ARGV[3])
local maxItems, maxWildcards = tonumber(ARGV[4]), tonumber(ARGV[5])
local alone = items == 0 and wildcards == 0
local fits = items + wantItems <= maxItems and (maxWildcards == 0 or wildcards + wantWildcards <= maxWildcards)
if not fits and not alone then return { 0, items, wildcards } end
redis.call('HSET', KEYS[1], ARGV[1], wantItems .. ' ' .. wantWildcards)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
return { 1, items, wildcards }
