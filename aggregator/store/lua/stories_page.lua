-- Reads a page of the story list for the API in one trip: newest updated first, each story with its
-- canonical article's chosen fields. Stories with no variants left are not listed.
-- KEYS: the stories-by-update sorted set.
-- ARGV: the story key's prefix and suffix (the key is prefix .. id .. suffix; its variants' key adds
--   ':variants'), the article key prefix, the page size, the cursor's score and id ('' for the first
--   page), then the article fields to read.
-- Returns {rows, the last listed id, its score}: each row {story id, first_seen, updated, count,
--   canonical id, the fields..., the number of outlets, its score in the list}; the last id and score
--   are '' when the list has no more stories. No text is read: the API tells from the fields whether
--   it has the canonical's snippet already, and reads the heads of the others (`lua/text_heads.lua`).
--   The number of outlets is the story's `sources`, which every write keeps; a story written before
--   there was one has its outlets counted among its first OUTLETS_READ variants.
local OUTLETS_READ = 50
-- The first of two hash values that is there and not empty.
local function either(a, b)
  if a and a ~= '' then return a end
  return b or ''
end
local story_pre, story_post, article_pre = ARGV[1], ARGV[2], ARGV[3]
local limit, score, last = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
local listed
if score == '' then
  listed = redis.call('zrevrange', KEYS[1], 0, limit - 1, 'withscores')
else
  -- Equal scores come in reverse id order: skip up to and including the last id already shown.
  local ties = redis.call('zcount', KEYS[1], score, score)
  local all = redis.call('zrevrangebyscore', KEYS[1], score, '-inf', 'withscores', 'limit', 0, limit + ties)
  listed = {}
  for i = 1, #all, 2 do
    if #listed < 2 * limit and (tonumber(all[i + 1]) < tonumber(score) or all[i] < last) then
      listed[#listed + 1] = all[i]
      listed[#listed + 1] = all[i + 1]
    end
  end
end
local rows = {}
for i = 1, #listed, 2 do
  local key = story_pre .. listed[i] .. story_post
  local count = redis.call('zcard', key .. ':variants')
  if count > 0 then
    local meta = redis.call('hmget', key, 'canonical', 'first_seen', 'updated', 'sources')
    local canonical = meta[1] or redis.call('zrange', key .. ':variants', 0, 0)[1]
    local row = {listed[i], meta[2] or '', meta[3] or '', count, canonical}
    local values = redis.call('hmget', article_pre .. canonical, unpack(fields))
    for j = 1, #fields do row[5 + j] = values[j] or '' end
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
    row[#row + 1] = listed[i + 1]
    rows[#rows + 1] = row
  end
end
if #listed < 2 * limit then return {rows, '', ''} end
return {rows, listed[#listed - 1], listed[#listed]}
