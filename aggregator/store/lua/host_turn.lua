-- Hands a request that cannot go now its turn with a host: a time after the last turn handed out, so
-- the requests put off for one host come back one after another, not all at once.
-- KEYS: the host's turns key.
-- ARGV: now (ms), the earliest it could go (ms from now), the spacing between turns (ms).
-- Returns the turn, in ms from now.
local now, earliest, spacing = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local last = tonumber(redis.call('get', KEYS[1]) or '0')
local turn = math.max(now + earliest, last + spacing)
redis.call('set', KEYS[1], turn, 'PX', math.ceil(turn - now + spacing))
return turn - now
