-- Reads the story list's rows of the given stories in one trip: each story with its canonical
-- article's chosen fields (`lua/stories_listing.lua` gives the ids of a page).
-- KEYS: the stories-by-update sorted set, which names the slot on a cluster (the script reads none of
--   it: the story and article keys are built here and share its hash tag there).
-- ARGV: the story key's prefix and suffix (the key is prefix .. id .. suffix; its variants' key adds
--   ':variants'), the article key prefix, the number of article fields, the fields, then the ids.
-- Returns a row per id: {first_seen, updated, count, canonical id, the fields..., the number of
--   outlets}, or an empty row for a story with no variants left (it is not listed). No text is read:
--   the API tells from the fields whether it has the canonical's snippet already, and reads the heads
--   of the others (`lua/text_heads.lua`). The number of outlets is the story's `sources`, which every
--   write keeps; a story written before there was one has its outlets counted among its first
--   OUTLETS_READ variants.
local OUTLETS_READ = 50
-- The first of two hash values that is there and not empty.
local function either(a, b)
  if a and a ~= '' then return a end
  return b or ''
end
local story_pre, story_post, article_pre = ARGV[1], ARGV[2], ARGV[3]
local nfields = tonumber(ARGV[4])
local fields = {}
for i = 1, nfields do fields[i] = ARGV[4 + i] end
local rows = {}
for i = 5 + nfields, #ARGV do
  local key = story_pre .. ARGV[i] .. story_post
  local count = redis.call('zcard', key .. ':variants')
  local row = {}
  if count > 0 then
    local meta = redis.call('hmget', key, 'canonical', 'first_seen', 'updated', 'sources')
    local canonical = meta[1] or redis.call('zrange', key .. ':variants', 0, 0)[1]
    row = {meta[2] or '', meta[3] or '', count, canonical}
    local values = redis.call('hmget', article_pre .. canonical, unpack(fields))
    for j = 1, nfields do row[4 + j] = values[j] or '' end
    local n = tonumber(meta[4])
    if not n then
      local outlets = {}
      n = 0
      for _, aid in ipairs(redis.call('zrange', key .. ':variants', 0, OUTLETS_READ - 1)) do
        local names = redis.call('hmget', article_pre .. aid, 'source', 'source_name')
        local name = string.lower(either(names[1], names[2]))
        if name ~= '' and not outlets[name] then
          outlets[name] = true
          n = n + 1
        end
      end
    end
    row[#row + 1] = n
  end
  rows[#rows + 1] = row
end
return rows
