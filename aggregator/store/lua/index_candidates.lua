-- Candidates for a whole batch in one call.
-- KEYS: every bucket key of every article, article after article.
-- ARGV: the number of candidates kept per article, the record and centroid key prefixes, then per
--       article its band count.
-- Returns per article a list of the `limit` live records sharing the most bands (ties by id), each
-- followed by the number of bands it shares, then a last list of story id and centroid pairs for every
-- story those records name. An expired record is skipped and the next one takes its place: its story's
-- window has closed, and a bucket keeps its id until newer ones push it out.
-- The record keys are built here (their ids are only known here), so they are not declared in KEYS;
-- they share the {idx} hash tag with the buckets, so on a cluster they live in the same slot.
local limit, prefix, cprefix = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local out, k, stories = {}, 1, {}
for a = 4, #ARGV do
  local hits, order = {}, {}
  for _ = 1, tonumber(ARGV[a]) do
    for _, id in ipairs(redis.call('lrange', KEYS[k], 0, -1)) do
      if hits[id] then hits[id] = hits[id] + 1 else hits[id] = 1; order[#order + 1] = id end
    end
    k = k + 1
  end
  table.sort(order, function(x, y)
    if hits[x] ~= hits[y] then return hits[x] > hits[y] end
    return x < y
  end)
  local found = {}
  for i = 1, #order do
    if #found == 2 * limit then break end
    local rec = redis.call('get', prefix .. order[i])
    if rec then
      found[#found + 1] = rec
      found[#found + 1] = hits[order[i]]
      stories[cjson.decode(rec)['s']] = true
    end
  end
  out[#out + 1] = found
end
local centroids = {}
for sid in pairs(stories) do
  local c = redis.call('get', cprefix .. sid)
  if c then centroids[#centroids + 1] = sid; centroids[#centroids + 1] = c end
end
out[#out + 1] = centroids
return out
