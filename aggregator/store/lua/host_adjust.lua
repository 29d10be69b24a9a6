-- Adapts a host's concurrency to how it answers: halved (down to 1) after a slow or failed request,
-- one more (up to the configured limit) after a good one. A host left alone returns to the configured
-- limit when the key expires.
-- KEYS: the host's current limit.
-- ARGV: the configured limit, 1 if the request was slow or failed else 0, the key's lifetime (s).
-- Returns the new limit.
local most, bad, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local limit = tonumber(redis.call('get', KEYS[1]) or most)
if bad == 1 then limit = math.max(1, math.floor(limit / 2)) else limit = math.min(most, limit + 1) end
if limit >= most then
  redis.call('del', KEYS[1])
else
  redis.call('set', KEYS[1], limit, 'EX', ttl)
end
return limit
