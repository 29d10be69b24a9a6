"""What the LSH index holds per article, and an in-memory index.

The in-memory index serves `aggregator eval --memory` and the within-batch overlay of the clusterer;
`store/index.py` keeps the same records and buckets in Redis. Buckets keep only their newest
`bucket_cap` entries, so a query costs the same whether 10k or 10M articles were indexed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # splitting builds on clustering, which builds on this module
    from aggregator.core.splitting import MemberVector


@dataclass(frozen=True)
class Record:
    """One indexed article: enough to find it (bands), name its story, and tell a copy of it."""

    article_id: str
    story_id: str
    shingle_sig: tuple[int, ...]
    bands: tuple[int, ...]
    time: float

    def dumps(self) -> str:
        d = {"a": self.article_id, "s": self.story_id, "h": self.shingle_sig, "b": self.bands}
        return json.dumps({**d, "at": self.time}, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | bytes) -> Record:
        d = json.loads(raw)
        # int(): records written before band keys were numbers hold them as strings
        return cls(d["a"], d["s"], tuple(d["h"]), tuple(map(int, d["b"])), float(d["at"]))


class Candidate(NamedTuple):
    """A record a search found, with the number of bands it shares with the searched article as the
    buckets hold it (a bucket that dropped it for newer entries no longer counts)."""

    record: Record
    shared: int


class MemoryIndex:
    """LSH buckets, records and story centroids in dicts.

    Records older than `window_s` before the newest are ignored, and dropped with their buckets and
    centroids every `prune_every` additions, so memory stays flat on an endless stream.
    """

    def __init__(self, bucket_cap: int, window_s: float | None = None, prune_every: int = 5000) -> None:
        self.bucket_cap = bucket_cap
        self.window_s = window_s
        self.prune_every = prune_every
        self.buckets: dict[int, list[str]] = {}  # newest first; lists: a deque per bucket costs 10x more
        self.records: dict[str, Record] = {}
        self.centroids: dict[str, Mapping[str, float]] = {}
        # Centroid norms, filled by `Clusterer.assign` and kept between batches: a story's goes when its
        # centroid is replaced.
        self.norms: dict[str, float] = {}
        self.story_time: dict[str, float] = {}
        self.members: dict[str, list[MemberVector]] = {}  # story -> its members as the split check sees them
        self.newest = 0.0
        self._added = 0

    def query(self, bands: Iterable[int], limit: int | None = None) -> list[Candidate]:
        """Records sharing a bucket with `bands`, those sharing the most first (ties by id), as the
        Redis index ranks them."""
        get = self.buckets.get
        hits = Counter(chain.from_iterable(map(get, bands, repeat(()))))  # counted in C
        # By id, then (a stable sort) by count, most first: two sorts in C, no key function.
        ranked = sorted(sorted(hits), key=hits.__getitem__, reverse=True)
        found = self._live(ranked[:limit], hits)
        if limit is not None and len(found) < limit < len(ranked):
            # Expired records give their places to the next ones, as in the Redis index.
            found = self._live(ranked, hits)[:limit]
        return found

    def _live(self, ids: Sequence[str], hits: Mapping[str, int]) -> list[Candidate]:
        horizon = self.newest - self.window_s if self.window_s is not None else float("-inf")
        found = zip(ids, map(self.records.get, ids), strict=True)
        return [Candidate(r, hits[a]) for a, r in found if r is not None and r.time >= horizon]

    def query_many(
        self, band_lists: Sequence[Sequence[int]], limit: int | None = None
    ) -> list[list[Candidate]]:
        return [self.query(b, limit) for b in band_lists]

    def centroids_of(self, found: Iterable[Iterable[Candidate]]) -> dict[str, Mapping[str, float]]:
        sids = {c.record.story_id for cands in found for c in cands}
        return {s: self.centroids[s] for s in sids if s in self.centroids}

    def add(
        self, record: Record, centroid: Mapping[str, float] | None = None, member: MemberVector | None = None
    ) -> None:
        known = record.article_id in self.records
        self.records[record.article_id] = record
        self.newest = max(self.newest, record.time)
        aid, cap, get = record.article_id, self.bucket_cap, self.buckets.get
        for band in record.bands:
            bucket = get(band)
            if bucket is None:
                self.buckets[band] = [aid]
            elif not known or aid not in bucket:
                bucket.insert(0, aid)
                if len(bucket) > cap:  # one added: at most one too many
                    bucket.pop()
        if centroid is not None and centroid is not self.centroids.get(record.story_id):
            self.centroids[record.story_id] = centroid
            self.norms.pop(record.story_id, None)
        if member is not None and not known:
            self.members.setdefault(record.story_id, []).append(member)
        self.story_time[record.story_id] = max(self.story_time.get(record.story_id, 0.0), record.time)
        self._added += 1
        if self.window_s is not None and self._added % self.prune_every == 0:
            self.prune(self.newest - self.window_s)

    def prune(self, horizon: float) -> None:
        """Forget records, buckets and centroids older than `horizon`."""
        records, buckets = self.records, self.buckets
        dead = [r for r in records.values() if r.time < horizon]
        for r in dead:
            del records[r.article_id]
        # Only the buckets of the forgotten records can have changed, and as each keeps its newest id
        # first, their dead ids sit at the end: the cost follows what expired, not the index's size.
        for r in dead:
            for band in r.bands:
                bucket = buckets.get(band)
                if bucket is None:
                    continue
                while bucket and bucket[-1] not in records:
                    bucket.pop()
                if not bucket:
                    del buckets[band]
        # A member past the window leaves the split check too, as its vector's TTL takes it in Redis.
        for sid in {r.story_id for r in dead}:
            if sid in self.members:
                self.members[sid] = [m for m in self.members[sid] if m.time >= horizon]
        old = [s for s, t in self.story_time.items() if t < horizon]
        for s in old:
            del self.story_time[s]
            self.centroids.pop(s, None)
            self.norms.pop(s, None)
            self.members.pop(s, None)

    def split(
        self,
        story_id: str,
        parts: Mapping[str, Sequence[MemberVector]],
        centroids: Mapping[str, Mapping[str, float]],
    ) -> None:
        """Make `story_id` the stories `parts` (story id -> members, `story_id`'s included) with these
        `centroids`."""
        for sid, part in parts.items():
            self.members[sid] = list(part)
            self.centroids[sid] = centroids[sid]
            self.norms.pop(sid, None)
            self.story_time[sid] = self.story_time.get(story_id, 0.0)
            for m in part:
                r = self.records.get(m.article_id)
                if r is not None and r.story_id != sid:
                    self.records[m.article_id] = Record(m.article_id, sid, r.shingle_sig, r.bands, r.time)
