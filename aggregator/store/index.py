"""The clustering index in Redis: LSH buckets, article records, document frequencies, the lock.

Round trips per batch, not per article: one pipeline reads every bucket of the batch, one reads the
records they name, one writes the batch back. Assignment holds a lock so two workers can never both
start a story for two copies of one article.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import redis

from aggregator.core.clustering import Centroid
from aggregator.core.fingerprint import DocFreq
from aggregator.core.index import Candidate, Record
from aggregator.core.splitting import MemberVector
from aggregator.errors import StorageError
from aggregator.store.keys import LOCK_TTL_MS, Keys
from aggregator.store.redis import converts_errors, held_lock

# One call writes a whole batch: per-command packing in redis-py, not Redis, was the cost of the
# ~300 commands per article a pipeline needed. KEYS: df, docs, per centroid its key, then per record
# its record key and its bucket keys. ARGV: ttl, cap, number of records, number of centroids, each
# centroid's JSON, then per record its id, value and band count, then the number of new documents and
# every document-frequency slot of theirs (`terms.df_key`, a slot once per document).
_WRITE = """
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
"""

# Candidates for a whole batch in one call. KEYS: every bucket key of every article, in order.
# ARGV: the number of candidates kept per article, the record and centroid key prefixes, then per
# article its band count. Returns per article the records of the `limit` live candidates sharing the
# most bands, each followed by the number it shares (an expired record is skipped and the next one
# takes its place: its story's window has closed, and a bucket keeps its id until newer ones push it
# out), then a last list of story id and centroid pairs for every story those records name.
# The record keys are built inside the script (their ids are only known there), so they are not
# declared in KEYS; they share the {idx} hash tag with the buckets, so on a cluster they live in the
# same slot, but a cluster proxy that checks declared keys strictly would refuse the script.
_CANDIDATES = """
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
      stories[string.match(rec, '"s":"([^"]*)"')] = true
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
"""


class RedisIndex:
    def __init__(self, client: redis.Redis, keys: Keys, bucket_cap: int, window_s: float) -> None:
        # redis-py's stubs type replies as unions of bytes/str/awaitables; with decode_responses=True
        # they are str, so the client is used untyped here rather than cast at every call.
        self.r: Any = client
        self.keys = keys
        self.bucket_cap = bucket_cap
        self.ttl_s = max(1, int(window_s))
        self._write = client.register_script(_WRITE)
        self._candidates = client.register_script(_CANDIDATES)

    @contextlib.contextmanager
    def lock(self, wait_s: float = 60.0) -> Iterator[None]:
        """Serialise story assignment across every worker. A crashed holder frees it after LOCK_TTL_MS."""
        with held_lock(self.r, self.keys.assign_lock, LOCK_TTL_MS, wait_s) as held:
            if not held:
                raise StorageError("timed out waiting for the assignment lock")
            yield

    @converts_errors
    def doc_freq(self, slots: Iterable[str]) -> DocFreq:
        """The document count and the counters of these `terms.df_key` slots."""
        wanted = sorted(set(slots))
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.keys.doc_count)
        if wanted:
            pipe.hmget(self.keys.doc_freq, wanted)
        res = pipe.execute()
        counts = res[1] if wanted else []
        df = {t: int(c) for t, c in zip(wanted, counts, strict=True) if c}
        return DocFreq(int(res[0] or 0), df)

    @converts_errors
    def candidates(
        self, band_lists: Sequence[Sequence[int]], limit: int
    ) -> tuple[list[list[Candidate]], dict[str, Centroid]]:
        """Per article, up to `limit` candidates, those sharing the most bands first; and the
        centroids of their stories."""
        if not band_lists:
            return [], {}
        keys = [self.keys.bucket(b) for bands in band_lists for b in bands]
        args: list[str | int] = [limit, self.keys.record(""), self.keys.centroid("")]
        args += [len(bands) for bands in band_lists]
        *found, flat = self._candidates(keys=keys, args=args)
        centroids = {flat[i]: json.loads(flat[i + 1]) for i in range(0, len(flat), 2)}
        return [
            [Candidate(Record.loads(recs[i]), int(recs[i + 1])) for i in range(0, len(recs), 2)]
            for recs in found
        ], centroids

    def write(
        self,
        pipe: redis.client.Pipeline,
        records: Sequence[Record],
        centroids: Mapping[str, Centroid],
        doc_keys: Sequence[Iterable[str]],
        members: Sequence[MemberVector] = (),
    ) -> None:
        """Queue the index writes of a batch on `pipe` (the caller's, so the batch commits in one trip).

        `doc_keys` holds the df slots of each article indexed for the first time: only they count in the
        IDF. `members` are the articles as the split check compares them.
        """
        keys = [self.keys.doc_freq, self.keys.doc_count, *(self.keys.centroid(s) for s in centroids)]
        args: list[str | int] = [self.ttl_s, self.bucket_cap, len(records), len(centroids)]
        args += [json.dumps(c, separators=(",", ":")) for c in centroids.values()]
        for rec in records:
            keys.append(self.keys.record(rec.article_id))
            keys.extend(self.keys.bucket(b) for b in rec.bands)
            args += [rec.article_id, rec.dumps(), len(rec.bands)]
        args.append(len(doc_keys))
        for slots in doc_keys:
            args.extend(slots)
        self._write(keys=keys, args=args, client=pipe)
        for m in members:
            value = json.dumps([m.time, m.length, m.vector], separators=(",", ":"))
            pipe.set(self.keys.vector(m.article_id), value, ex=self.ttl_s)

    @converts_errors
    def members(self, story_ids: Mapping[str, Sequence[str]]) -> dict[str, list[MemberVector]]:
        """Per story (id -> its article ids), the members whose vectors are still indexed."""
        wanted = {sid: list(aids) for sid, aids in story_ids.items() if aids}
        pipe = self.r.pipeline(transaction=False)
        for aids in wanted.values():
            pipe.mget([self.keys.vector(a) for a in aids])
        out: dict[str, list[MemberVector]] = {sid: [] for sid in story_ids}
        for (sid, aids), raw in zip(wanted.items(), pipe.execute(), strict=True):
            found = [(a, json.loads(v)) for a, v in zip(aids, raw, strict=True) if v]
            out[sid] = [MemberVector(a, float(t), int(n), vec) for a, (t, n, vec) in found]
        return out

    @converts_errors
    def split(
        self, pipe: redis.client.Pipeline, moved: Mapping[str, str], centroids: Mapping[str, Centroid]
    ) -> None:
        """Queue on `pipe` the records of `moved` (article id -> new story id) naming their new story,
        and the centroids of the stories a split made."""
        aids = list(moved)
        raw = self.r.mget([self.keys.record(a) for a in aids]) if aids else []
        for aid, value in zip(aids, raw, strict=True):
            if value is not None:  # an expired record stays expired
                r = Record.loads(value)
                moved_record = Record(aid, moved[aid], r.shingle_sig, r.bands, r.time)
                pipe.set(self.keys.record(aid), moved_record.dumps(), keepttl=True)
        for sid, c in centroids.items():
            pipe.set(self.keys.centroid(sid), json.dumps(c, separators=(",", ":")), ex=self.ttl_s)
