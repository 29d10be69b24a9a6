"""The clustering index in memory: the `core.pipeline.Index` of `aggregator eval --memory`, the
benchmarks and the unit tests. It keeps what the Redis index keeps (`store/index.py`), in dicts.

Buckets keep only their newest `bucket_cap` entries, so a query costs the same whether 10k or 10M
articles were indexed. Records older than `window_s` before the newest are ignored, and dropped with
their buckets, centroids and members every `prune_every` additions, so memory stays flat on an endless
stream, as the Redis index's keys expire. The archive of story summaries keeps at most
`archive_max` stories, none older than `archive_s`, each found through lists capped like buckets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import chain, islice, repeat

from aggregator.core.centroid import FOLLOWUP_MIN_SHARED, summary_keys
from aggregator.core.models import (
    Candidate,
    Centroid,
    Decision,
    Features,
    Lookup,
    MemberVector,
    Record,
    Relation,
    Split,
    Summary,
)
from aggregator.core.pipeline import Batch
from aggregator.core.terms import SlotCounts, TermTable


class MemoryIndex:
    def __init__(
        self,
        bucket_cap: int,
        window_s: float | None = None,
        archive_s: float | None = None,
        archive_max: int = 200_000,
        prune_every: int = 5000,
    ) -> None:
        self.bucket_cap = bucket_cap
        self.window_s = window_s
        self.archive_s = archive_s
        self.archive_max = archive_max
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
        self.summaries: dict[str, Summary] = {}  # least recently written first
        self.archive_keys: dict[int, list[str]] = {}  # key term -> story ids, newest first (capped)
        self.newest = 0.0
        self._added = 0

    # --- the Index protocol
    def doc_freq(self, table: TermTable) -> SlotCounts:
        return self.df

    def candidates(self, features: Sequence[Features], limit: int, now: float) -> Lookup:
        self.newest = max(self.newest, now)
        found = [self.query(f.bands, limit) for f in features]
        sids = {c.record.story_id for cands in found for c in cands}
        archived = [self.archived(f.keywords, limit) for f in features]
        summaries = {s: self.summaries[s] for ids in archived for s in ids}
        centroids = {s: self.centroids[s] for s in sids if s in self.centroids}
        return Lookup(found, centroids, self.norms, archived, summaries)

    def commit(self, batch: Batch) -> dict[str, int]:
        self.df.add(batch.table, batch.documents())
        sizes: dict[str, int] = {}
        for x, member in zip(batch.assignments, batch.members, strict=True):
            self.add(x.record, x.centroid, member)
            sizes[x.record.story_id] = self.sizes[x.record.story_id]
        for s in batch.summaries():
            self.archive(s)
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
        for s in split.summaries:
            self.archive(s)

    # --- in-memory mechanics
    def archived(self, keywords: Sequence[int], limit: int) -> list[str]:
        """Archived stories sharing at least `FOLLOWUP_MIN_SHARED` key terms with `keywords`, the most
        shared first, ties by id; none past the archive's horizon."""
        horizon = self.newest - self.archive_s if self.archive_s is not None else float("-inf")
        hits = Counter(chain.from_iterable(map(self.archive_keys.get, keywords, repeat(()))))
        ranked = sorted(sorted(hits), key=hits.__getitem__, reverse=True)
        kept = self.summaries.get
        # A story forgotten since it was listed is skipped, as its expired key is in Redis.
        live = (
            sid
            for sid in ranked
            if hits[sid] >= FOLLOWUP_MIN_SHARED and (s := kept(sid)) and s.time >= horizon
        )
        return list(islice(live, limit))

    def archive(self, s: Summary) -> None:
        """Keep the story's summary, found by its key terms (and by its earlier ones until newer
        stories push it out of their lists, as in Redis); the oldest go past the cap."""
        self.summaries.pop(s.story_id, None)  # re-inserted: the newest last
        self.summaries[s.story_id] = s
        for term in summary_keys(s):
            listed = self.archive_keys.setdefault(term, [])
            if s.story_id in listed:
                listed.remove(s.story_id)
            listed.insert(0, s.story_id)
            if len(listed) > self.bucket_cap:
                del listed[self.bucket_cap :]
        while len(self.summaries) > self.archive_max:
            self._forget(next(iter(self.summaries)))

    def _forget(self, sid: str) -> None:
        self._unlist(self.summaries.pop(sid))
        self.sizes.pop(sid, None)

    def _unlist(self, s: Summary) -> None:
        for term in summary_keys(s):
            listed = self.archive_keys.get(term)
            if listed is not None and s.story_id in listed:
                listed.remove(s.story_id)
                if not listed:
                    del self.archive_keys[term]

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
            for kept in (self.centroids, self.norms, self.story_members):
                kept.pop(s, None)
        if self.archive_s is not None:
            gone = self.newest - self.archive_s
            for sid in [sid for sid, s in self.summaries.items() if s.time < gone]:
                self._forget(sid)


def _relinked(m: MemberVector, d: Decision) -> MemberVector:
    """The member as its new relation links it."""
    return replace(m, matched=d.matched_article, copy=d.relation == Relation.COPY)
