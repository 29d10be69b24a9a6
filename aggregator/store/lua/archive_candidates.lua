-- Archived stories that share key terms with each article of a batch, in one call.
-- KEYS: the term list key of each keyword of each article, article after article.
-- ARGV: the number of stories kept per article, the fewest key terms shared, the summary key prefix,
--       then per article its number of keywords.
-- Returns per article a list of up to `limit` story refs (`packing.ref`, as the term lists hold them)
-- sharing the most key terms (ties by ref, which sorts as ids do) whose summary is still kept, each
-- followed by the number shared, then a last list of story ref and summary pairs for every story
-- named. The summary keys are built here; they share the {idx} hash tag.
local limit, least, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local out, k, summaries = {}, 1, {}
for a = 4, #ARGV do
  local hits, order = {}, {}
  for _ = 1, tonumber(ARGV[a]) do
    for _, sid in ipairs(redis.call('lrange', KEYS[k], 0, -1)) do
      if hits[sid] then hits[sid] = hits[sid] + 1 else hits[sid] = 1; order[#order + 1] = sid end
    end
    k = k + 1
  end
  table.sort(order, function(x, y)
    if hits[x] ~= hits[y] then return hits[x] > hits[y] end
    return x < y
  end)
  local found = {}
  for i = 1, #order do
    local sid = order[i]
    if #found == 2 * limit or hits[sid] < least then break end
    local summary = summaries[sid] or redis.call('get', prefix .. sid)
    if summary then
      summaries[sid] = summary
      found[#found + 1] = sid
      found[#found + 1] = hits[sid]
    end
  end
  out[#out + 1] = found
end
local pairs_ = {}
for sid, summary in pairs(summaries) do
  pairs_[#pairs_ + 1] = sid
  pairs_[#pairs_ + 1] = summary
end
out[#out + 1] = pairs_
return out
