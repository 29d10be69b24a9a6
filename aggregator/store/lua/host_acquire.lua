-- Takes one of a host's request slots if the politeness rules allow it now.
-- KEYS: the host's in-flight set, its last-start key, its current limit (set by host_adjust.lua).
-- ARGV: token, now (ms), the configured limit, gap (ms), lease (ms).
-- Returns 0 when the slot is granted, else how many ms to wait before asking again.
local now, limit, gap, lease = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
limit = math.min(limit, tonumber(redis.call('get', KEYS[3]) or limit))
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
local last = tonumber(redis.call('get', KEYS[2]) or '0')
if gap > 0 and last + gap > now then return last + gap - now end
if redis.call('zcard', KEYS[1]) >= limit then
  -- Next free when the earliest lease ends, unless a request finishes first: ask again soon.
  return 50
end
redis.call('zadd', KEYS[1], now + lease, ARGV[1])
redis.call('pexpire', KEYS[1], lease)
redis.call('set', KEYS[2], now, 'PX', math.max(gap, 1))
return 0
