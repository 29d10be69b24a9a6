-- Candidates for a whole batch in one call.
-- KEYS: one key of the index, which names its slot (the script reads none of it): the bucket, entry
--       and centroid keys are built here (most are only known here); they share the {idx} hash tag, so
--       on a cluster they live in that slot.
-- ARGV: the number of candidates kept per article, the entry, centroid and (once written, now only
--       read) member vector key prefixes, the bucket cap, the number of bucket groups, the number of
--       time parts read, each part's bucket hash key prefix (newest first), then per article its band
--       count followed by each band's key.
-- A band's bucket is a field of its group's hash in each part (`lua/index_write.lua`); read, it is its
-- newest `cap` ids over the parts, newest first (an id in two parts counts once).
-- Returns per article a list of the `limit` live entries sharing the most bands (ties by id), each
-- followed by the number of bands it shares, then a last list of story id, kind and centroid triples
-- for every story those entries name. A story with no centroid kept has one article, whose entry
-- stands in (kind 'm'; as `RedisIndex.commit` writes them). An expired entry is skipped and the next
-- one takes its place: its story's window has closed, and a bucket keeps its id until newer ones push
-- it out.
local limit, prefix, cprefix, vprefix = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local cap, groups, parts = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local out, a, entries, old = {}, 8 + parts, {}, {}
while a <= #ARGV do
  local hits, order, seen = {}, {}, {}
  local bands = tonumber(ARGV[a])
  for i = 1, bands do
    local band = ARGV[a + i]
    local group = string.format('%d', tonumber(band) % groups)
    local taken = 0
    for p = 1, parts do
      if taken == cap then break end
      local ids = redis.call('hget', ARGV[7 + p] .. group, band)
      if ids then
        for id in string.gmatch(ids, '%S+') do
          if taken == cap then break end
          if seen[id] ~= i then  -- an id in two parts of one band counts once
            seen[id], taken = i, taken + 1
            if hits[id] then hits[id] = hits[id] + 1 else hits[id] = 1; order[#order + 1] = id end
          end
        end
      end
    end
  end
  a = a + 1 + bands
  -- Most shared bands first, ties by id: ids grouped by their count, each group sorted as it is
  -- reached (a sort of every id with a Lua comparison costs many times more, and most groups are
  -- never reached).
  local by_hits, most = {}, 0
  for _, id in ipairs(order) do
    local h = hits[id]
    local group = by_hits[h]
    if not group then group = {}; by_hits[h] = group; if h > most then most = h end end
    group[#group + 1] = id
  end
  local found = {}
  for h = most, 1, -1 do
    if #found == 2 * limit then break end
    local group = by_hits[h]
    if group then
      table.sort(group)
      for _, id in ipairs(group) do
        if #found == 2 * limit then break end
        local rec = redis.call('get', prefix .. id)
        if rec then
          found[#found + 1] = rec
          found[#found + 1] = h
          -- An entry starts "article story " (`store/entries.py`); a record once stored as JSON is
          -- read as such, and its article's vector was kept apart.
          if string.sub(rec, 1, 1) == '{' then
            local r = cjson.decode(rec)
            entries[r['s']], old[r['s']] = nil, r['a']
          else
            local sid = string.match(rec, '^%S+ (%S+) ')
            entries[sid], old[sid] = rec, nil
          end
        end
      end
    end
  end
  out[#out + 1] = found
end
local centroids = {}
local function add(sid, kind, c)
  if c then
    centroids[#centroids + 1] = sid
    centroids[#centroids + 1] = kind
    centroids[#centroids + 1] = c
  end
end
for sid, rec in pairs(entries) do
  local c = redis.call('get', cprefix .. sid)
  if c then add(sid, 'c', c) else add(sid, 'm', rec) end
end
for sid, aid in pairs(old) do
  local c = redis.call('get', cprefix .. sid)
  if c then add(sid, 'c', c) else add(sid, 'm', redis.call('get', vprefix .. aid)) end
end
out[#out + 1] = centroids
return out
