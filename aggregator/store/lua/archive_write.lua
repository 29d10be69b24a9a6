-- Keeps stories' summaries in the archive of long-running stories, found by their key terms.
-- Stories go by their refs (`packing.ref`), which name their summary keys.
-- KEYS: the archive (a sorted set of story refs by time), then per story its summary key and the list
--       key of each of its key terms.
-- ARGV: ttl (s), list cap, most stories kept, the summary key prefix, the number of stories, then per
--       story its ref, its time, its summary and its number of key terms.
-- The oldest stories past the most kept lose their summaries (their refs left in term lists are
-- skipped when read). Returns the number of stories written.
local ttl, cap, most, prefix, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local k, a = 2, 6
for _ = 1, n do
  local sid, time, summary, terms = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  a = a + 4
  redis.call('set', KEYS[k], summary, 'EX', ttl)
  k = k + 1
  for _ = 1, terms do
    redis.call('lrem', KEYS[k], 0, sid)
    redis.call('lpush', KEYS[k], sid)
    redis.call('ltrim', KEYS[k], 0, cap - 1)
    redis.call('expire', KEYS[k], ttl)
    k = k + 1
  end
  redis.call('zadd', KEYS[1], time, sid)
end
local over = redis.call('zcard', KEYS[1]) - most
if over > 0 then
  local gone = redis.call('zpopmin', KEYS[1], over)
  for i = 1, #gone, 2 do redis.call('del', prefix .. gone[i]) end
end
return n
