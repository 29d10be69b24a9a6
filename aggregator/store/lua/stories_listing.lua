-- Reads a page of the story list's ids for the API: newest updated first, each with its score, which
-- every change to what the list shows of a story moves (`store/stories.py`, `store/articles.py`), so
-- the API keeps the rows it has read by id and score and reads only the others (`lua/story_rows.lua`).
-- KEYS: the stories-by-update sorted set.
-- ARGV: the page size, the cursor's score and id ('' for the first page).
-- Returns {story id and score pairs, flat; the last id, its score}: the last id and score are '' when
-- the list has no more stories.
local limit, score, last = tonumber(ARGV[1]), ARGV[2], ARGV[3]
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
if #listed < 2 * limit then return {listed, '', ''} end
return {listed, listed[#listed - 1], listed[#listed]}
