-- Takes back a purge that was never handed to the queues: its record, and its idempotency key if the key
-- still names it (a key's owner is the purge it maps to; another purge's key is never touched).
-- KEYS[1] purge hash; KEYS[2] idempotency key (KEYS[1] again when there is none); KEYS[3] its plan;
-- ARGV[1] purge id.
if KEYS[2] ~= KEYS[1] then
  local value = redis.call('GET', KEYS[2])
  if value and (value == ARGV[1] or string.sub(value, 1, #ARGV[1] + 1) == ARGV[1] .. ' ') then
    redis.call('DEL', KEYS[2])
  end
end
return redis.call('DEL', KEYS[1], KEYS[3])
