-- Reads the heads of articles' texts for the story list's snippets, in one trip, without sending
-- whole texts.
-- KEYS: the articles' keys. ARGV: the most bytes of a text to send (SNIPPET).
-- Returns each article's head, of its text, else of its summary ('' for neither): at most SNIPPET
--   bytes, cut before a character, never inside one; of a packed text (`store/packing.py`; it starts
--   with deflate's bytes 120 156), its first PACKED_HEAD bytes, which the API unpacks.
-- 750 bytes of deflate hold more than a snippet's bytes of its text (its first 740 or more); texts
-- packed as base64, as they once were, need 1000 characters for them.
local PACKED_HEAD, OLD_PACKED_HEAD = 750, 1000
local SNIPPET = tonumber(ARGV[1])
local function head(text)
  if string.sub(text, 1, 2) == '\120\156' then return string.sub(text, 1, PACKED_HEAD) end
  if string.sub(text, 1, 2) == 'z:' then return string.sub(text, 1, OLD_PACKED_HEAD) end
  if #text <= SNIPPET then return text end
  local cut = SNIPPET
  -- A UTF-8 continuation byte (10xxxxxx) is no place to start the next character: back off.
  while cut > 0 and string.byte(text, cut + 1) >= 128 and string.byte(text, cut + 1) < 192 do
    cut = cut - 1
  end
  return string.sub(text, 1, cut)
end
local heads = {}
for i, key in ipairs(KEYS) do
  local texts = redis.call('hmget', key, 'text', 'summary')
  local text = texts[1]
  if not text or text == '' then text = texts[2] or '' end
  heads[i] = head(text)
end
return heads
