"""The clustering index in memory: the `core.pipeline.Index` of `aggregator eval --memory`, the
benchmarks and the unit tests. It keeps what the Redis index keeps (`store/index.py`), in dicts.

Buckets keep only their newest `bucket_cap` entries, so a query costs the same whether 10k or 10M
articles were indexed. Records older than `window_s` before the newest are ignored, and dropped with
their buckets, centroids and members every `prune_every` additions, so memory stays flat on an endless
stream, as the Redis index's keys expire.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import chain, repeat

from aggregator.core.models import (
    Candidate,
    Centroid,
    Decision,
    Lookup,
    MemberVector,
    Record,
    Relation,
    Split,
)
from aggregator.core.pipeline import Batch
from aggregator.core.terms import SlotCounts, TermTable


class MemoryIndex:
    def __init__(self, bucket_cap: int, window_s: float | None = None, prune_every: int = 5000) -> None:
        self.bucket_cap = bucket_cap
        self.window_s = window_s
        self.prune_every = prune_every
        self.buckets: dict[int, list[str]] = {}  # newest first; a list inserts at the front cheaply here
        self.records: dict[str, Record] = {}
        self.centroids: dict[str, Centroid] = {}
        # Norms of the centroids, filled by the clusterer through `Lookup.norms` and kept between
        # batches: a story's goes whenever its centroid is replaced.
        self.norms: dict[str, float] = {}
        self.story_time: dict[str, float] = {}
        self.sizes: dict[str, int] = {}  # story -> its variants
        self.story_members: dict[str, list[MemberVector]] = {}  # story -> its members in the window
        self.df = SlotCounts()
        self.newest = 0.0
        self._added = 0

    # --- the Index protocol
    def doc_freq(self, table: TermTable) -> SlotCounts:
        return self.df

    def candidates(self, band_lists: Sequence[Sequence[int]], limit: int) -> Lookup:
        found = [self.query(bands, limit) for bands in band_lists]
        sids = {c.record.story_id for cands in found for c in cands}
        return Lookup(found, {s: self.centroids[s] for s in sids if s in self.centroids}, self.norms)

    def commit(self, batch: Batch) -> dict[str, int]:
        self.df.add(batch.table, batch.documents())
        sizes: dict[str, int] = {}
        for x, member in zip(batch.assignments, batch.members(), strict=True):
            self.add(x.record, x.centroid, member)
            sizes[x.record.story_id] = self.sizes[x.record.story_id]
        return sizes

    def members(self, story_ids: Sequence[str]) -> dict[str, list[MemberVector]]:
        return {sid: list(self.story_members.get(sid, ())) for sid in story_ids}

    def split(self, split: Split) -> None:
        story_id, moved = split.story_id, 0
        relations = split.relations
        for sid, part in split.parts.items():
            self.story_members[sid] = [
                m if m.article_id not in relations else _relinked(m, relations[m.article_id]) for m in part
            ]
            self.centroids[sid] = split.centroids[sid]
            self.norms.pop(sid, None)
            self.story_time[sid] = self.story_time.get(story_id, 0.0)
            if sid != story_id:
                self.sizes[sid] = len(part)
                moved += len(part)
            for m in part:
                r = self.records.get(m.article_id)
                if r is not None and r.story_id != sid:
                    self.records[m.article_id] = replace(r, story_id=sid)
        self.sizes[story_id] -= moved

    # --- in-memory mechanics
    def query(self, bands: Iterable[int], limit: int | None = None) -> list[Candidate]:
        """Records sharing a bucket with `bands`, those sharing the most first (ties by id)."""
        get = self.buckets.get
        hits = Counter(chain.from_iterable(map(get, bands, repeat(()))))
        # By id, then (a stable sort) by count, most first: two sorts, no key function per item.
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

    def add(
        self, record: Record, centroid: Centroid | None = None, member: MemberVector | None = None
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
        sid = record.story_id
        if centroid is not None and centroid is not self.centroids.get(sid):
            self.centroids[sid] = centroid
            self.norms.pop(sid, None)
        if not known:
            self.sizes[sid] = self.sizes.get(sid, 0) + 1
            if member is not None:
                self.story_members.setdefault(sid, []).append(member)
        self.story_time[sid] = max(self.story_time.get(sid, 0.0), record.time)
        self._added += 1
        if self.window_s is not None and self._added % self.prune_every == 0:
            self.prune(self.newest - self.window_s)

    def prune(self, horizon: float) -> None:
        """Forget records, buckets, centroids and members older than `horizon`."""
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
            if sid in self.story_members:
                self.story_members[sid] = [m for m in self.story_members[sid] if m.time >= horizon]
        for s in [s for s, t in self.story_time.items() if t < horizon]:
            del self.story_time[s]
            for kept in (self.centroids, self.norms, self.story_members, self.sizes):
                kept.pop(s, None)


def _relinked(m: MemberVector, d: Decision) -> MemberVector:
    """The member as its new relation links it."""
    return replace(m, matched=d.matched_article, copy=d.relation == Relation.COPY)
