-- Hands out the feeds due now, each once: they are moved ahead by the lease in the same step, so two
-- schedulers running at once (ticks queued behind a backlog) never both take one.
-- KEYS: the sorted set of feeds by due time.
-- ARGV: now, the lease (s), the most feeds handed out.
-- Returns the feed ids handed out.
local now, lease, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('zrangebyscore', KEYS[1], '-inf', now, 'LIMIT', 0, most)
for _, fid in ipairs(due) do redis.call('zadd', KEYS[1], 'XX', now + lease, fid) end
return due
