-- Reads a story for the API in one trip: its hash, its variant count, a page of its variants in the
-- order they joined, and the chosen fields of each variant on the page and of the canonical.
-- KEYS: the story hash, the story's variants (sorted set).
-- ARGV: the article key prefix, the page's first offset, the page size, how many fields follow for
--   the page's variants, those fields, then the canonical's fields.
-- Returns {story hash as a flat list, count, ids (page size + 1 of them when there are more),
--   rows (one list of values per id of the page), the canonical's row (empty without a canonical)}.
local prefix, start, limit, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local fields, canonical_fields = {}, {}
for i = 1, n do fields[i] = ARGV[4 + i] end
for i = 5 + n, #ARGV do canonical_fields[#canonical_fields + 1] = ARGV[i] end
local meta = redis.call('hgetall', KEYS[1])
local count = redis.call('zcard', KEYS[2])
local ids = redis.call('zrange', KEYS[2], start, start + limit)
local rows = {}
for i = 1, math.min(#ids, limit) do rows[i] = redis.call('hmget', prefix .. ids[i], unpack(fields)) end
local canonical = {}
for i = 1, #meta, 2 do
  if meta[i] == 'canonical' then
    canonical = redis.call('hmget', prefix .. meta[i + 1], unpack(canonical_fields))
  end
end
return {meta, count, ids, rows, canonical}
