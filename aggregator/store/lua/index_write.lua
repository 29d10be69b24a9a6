-- Writes a clustered batch's index entries in one call (per-command packing in the client, not Redis,
-- is the cost of the hundreds of commands per article a pipeline would need).
-- KEYS: the df hash, the document count, each centroid's key, then per record its record key and its
--       bucket keys.
-- ARGV: ttl (s), bucket cap, number of records, number of centroids, each centroid's JSON, then per
--       record its id, its value and its band count, then the number of new documents and every
--       document-frequency slot of theirs (a slot once per document).
-- Returns the number of records written.
local ttl, cap, n, nc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 1, nc do redis.call('set', KEYS[2 + i], ARGV[4 + i], 'EX', ttl) end
local k, a = 3 + nc, 5 + nc
for _ = 1, n do
  local id, value, bands = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  redis.call('set', KEYS[k], value, 'EX', ttl)
  k = k + 1
  for _ = 1, bands do
    redis.call('lrem', KEYS[k], 0, id)
    redis.call('lpush', KEYS[k], id)
    redis.call('ltrim', KEYS[k], 0, cap - 1)
    redis.call('expire', KEYS[k], ttl)
    k = k + 1
  end
end
local docs = tonumber(ARGV[a])
if docs > 0 then redis.call('incrby', KEYS[2], docs) end
for i = a + 1, #ARGV do redis.call('hincrby', KEYS[1], ARGV[i], 1) end
return n
