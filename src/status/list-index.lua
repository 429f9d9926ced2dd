-- Reads the purge index newest first, one page's worth, starting after the entry the last page ended at.
-- One call, so an acceptance in between cannot shift the ranks it counts by.
-- KEYS[1] the purge index (id -> accepted at, ms).
-- ARGV[1] newest score to include; ARGV[2] oldest score to include (both ms, numbers: never '+inf'); ARGV[3] the id the last page ended at
-- ('' for the first page), whose score is ARGV[1]; ARGV[4] most entries to return.
-- Returns { id, score, id, score, ... }, newest first.
local max, min, after, count = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
if after ~= '' then
  local score = redis.call('ZSCORE', KEYS[1], after)
  if score and tonumber(score) == tonumber(max) then
    -- By rank: exact even among purges accepted in the same millisecond (one score, many ids).
    local rank = redis.call('ZREVRANK', KEYS[1], after)
    local entries = redis.call('ZREVRANGE', KEYS[1], rank + 1, rank + count, 'WITHSCORES')
    local kept = {}
    for i = 1, #entries, 2 do
      if tonumber(entries[i + 1]) < min then break end
      kept[#kept + 1] = entries[i]
      kept[#kept + 1] = entries[i + 1]
    end
    return kept
  end
  -- The entry is gone (expired and trimmed with its record): go on from below its score.
  max = '(' .. max
end
return redis.call('ZREVRANGEBYSCORE', KEYS[1], max, ARGV[2], 'WITHSCORES', 'LIMIT', 0, count)
