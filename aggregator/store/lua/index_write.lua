-- Writes a clustered batch's index entries in one call (per-command packing in the client, not Redis,
-- is the cost of the hundreds of commands per article a pipeline would need).
-- KEYS: the df hash, the document count, each centroid's key, then each article's entry key.
-- ARGV: ttl (s), bucket hash ttl (s), bucket cap, the length of a ref (`packing.REF_CHARS`), the bucket
--       hash key prefix of this time part, the number of bucket groups, number of entries, number of
--       centroids, each centroid's value, then per article its ref (`packing.ref`), its entry
--       (`store/entries.py`), its band count and each band's key, then the number of new documents and
--       each document-frequency slot of theirs followed by how many of them hold it.
-- A band's bucket is a field of its group's hash (prefix .. band key % groups), its refs newest first,
-- joined by spaces: a ref written again moves to the front. The hash keys are built here, as
-- `RedisIndex.bucket_hash` builds them; they share the {idx} hash tag, so on a cluster they live in the
-- same slot. Returns the number of entries written.
local ttl, hash_ttl, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local room = (cap - 1) * (tonumber(ARGV[4]) + 1)  -- the length of `cap` - 1 refs and their spaces
local prefix, groups, n, nc = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
for i = 1, nc do redis.call('set', KEYS[2 + i], ARGV[8 + i], 'EX', ttl) end
local touched = {}
local function push(band, id)
  local key = prefix .. string.format('%d', tonumber(band) % groups)
  local old, value = redis.call('hget', key, band), id
  if old then
    -- Most often: an id new to a bucket with room goes in front, without counting or splitting the
    -- bucket (a bucket shorter than `room` holds fewer than `cap` refs). Ids shorter than a ref (not
    -- the service's own) may make a bucket longer than `cap`; its first `cap`, all that is read, are
    -- the same. The plain search may find an id inside a longer one: that only takes the long way.
    if #old < room and not string.find(old, id, 1, true) then
      value = id .. ' ' .. old
    else
      local kept = {id}
      for other in string.gmatch(old, '%S+') do
        if #kept == cap then break end
        if other ~= id then kept[#kept + 1] = other end
      end
      value = table.concat(kept, ' ')
    end
  end
  redis.call('hset', key, band, value)
  touched[key] = true
end
local k, a = 3 + nc, 9 + nc
for _ = 1, n do
  local id, value, bands = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  redis.call('set', KEYS[k], value, 'EX', ttl)
  for i = 1, bands do push(ARGV[a + 2 + i], id) end
  k, a = k + 1, a + 3 + bands
end
for key in pairs(touched) do redis.call('expire', key, hash_ttl) end
local docs = tonumber(ARGV[a])
if docs > 0 then redis.call('incrby', KEYS[2], docs) end
for i = a + 1, #ARGV, 2 do redis.call('hincrby', KEYS[1], ARGV[i], ARGV[i + 1]) end
return n
