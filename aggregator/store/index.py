"""The clustering index in Redis: the `core.pipeline.Index` the workers cluster against.

LSH buckets, article records, story centroids, member vectors and document frequencies, all under the
`{idx}` hash tag, plus the story-write lock. Round trips per batch, not per article: one call finds a
batch's candidates and their centroids (`lua/index_candidates.lua`), and one MULTI commits the batch's
stories (`StoryStore`) together with its index entries (`lua/index_write.lua`), so a crash leaves all of
a batch or none. Entries expire with the story window.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import redis

from aggregator.core.centroid import FOLLOWUP_MIN_SHARED, summary_keys
from aggregator.core.fingerprint import DocFreq
from aggregator.core.models import (
    Candidate,
    Centroid,
    Features,
    Lookup,
    MemberVector,
    Record,
    Relation,
    Split,
    Summary,
)
from aggregator.core.pipeline import Batch
from aggregator.core.terms import TermTable
from aggregator.errors import StorageError
from aggregator.store import scripts
from aggregator.store.connection import converts_errors, held_lock
from aggregator.store.keys import LOCK_TTL_MS, Keys
from aggregator.store.stories import StoryStore


def dump_record(r: Record) -> str:
    d = {"a": r.article_id, "s": r.story_id, "h": r.shingle_sig, "b": r.bands, "at": r.time}
    return json.dumps(d, separators=(",", ":"))


def load_record(raw: str | bytes) -> Record:
    d = json.loads(raw)
    return Record(d["a"], d["s"], tuple(d["h"]), tuple(d["b"]), float(d["at"]))


def dump_summary(s: Summary) -> str:
    return _dumps({"t": s.terms, "a": s.latest, "at": s.time})


def load_summary(story_id: str, raw: str) -> Summary:
    d = json.loads(raw)
    return Summary(story_id, d["t"], d["a"], float(d["at"]))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _dump_member(m: MemberVector) -> str:
    return _dumps([m.time, m.length, m.vector, m.matched, m.copy])


def _load_member(article_id: str, raw: str) -> MemberVector:
    t, n, vector, *links = json.loads(raw)  # a vector stored without its links reads as unlinked
    matched, copy = links if links else (None, False)
    return MemberVector(article_id, float(t), int(n), vector, matched, bool(copy))


class RedisIndex:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        stories: StoryStore,
        bucket_cap: int,
        window_s: float,
        archive_s: float,
        archive_max: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # redis-py's stubs type replies as unions of bytes/str/awaitables; with decode_responses=True
        # they are str, so the client is used untyped here rather than cast at every call.
        self.r: Any = client
        self.keys = keys
        self.stories = stories
        self.bucket_cap = bucket_cap
        self.ttl_s = max(1, int(window_s))
        self.archive_ttl_s = max(1, int(archive_s))
        self.archive_max = archive_max
        self.clock = clock
        self._write = scripts.register(client, "index_write")
        self._candidates = scripts.register(client, "index_candidates")
        self._archive = scripts.register(client, "archive_write")
        self._archived = scripts.register(client, "archive_candidates")

    @contextlib.contextmanager
    def lock(self, wait_s: float = 60.0) -> Iterator[None]:
        """Serialise story writes across every worker. A crashed holder frees it after LOCK_TTL_MS."""
        with held_lock(self.r, self.keys.assign_lock, LOCK_TTL_MS, wait_s) as held:
            if not held:
                raise StorageError("timed out waiting for the story-write lock")
            yield

    @converts_errors
    def doc_freq(self, table: TermTable) -> DocFreq:
        """The document count and the counters of the batch's document-frequency slots."""
        wanted = sorted(set().union(*table.df_keys))
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.keys.doc_count)
        if wanted:
            pipe.hmget(self.keys.doc_freq, wanted)
        res = pipe.execute()
        counts = res[1] if wanted else []
        return DocFreq(int(res[0] or 0), {t: int(c) for t, c in zip(wanted, counts, strict=True) if c})

    @converts_errors
    def candidates(self, features: Sequence[Features], limit: int, now: float) -> Lookup:
        """Live candidates and archived stories in one round trip: one script for each."""
        if not features:
            return Lookup([], {})
        pipe = self.r.pipeline(transaction=False)
        keys = [self.keys.bucket(b) for f in features for b in f.bands]
        args: list[str | int] = [limit, self.keys.record(""), self.keys.centroid("")]
        self._candidates(keys=keys, args=[*args, *(len(f.bands) for f in features)], client=pipe)
        keys = [self.keys.archive_term(t) for f in features for t in f.keywords]
        args = [limit, FOLLOWUP_MIN_SHARED, self.keys.summary("")]
        self._archived(keys=keys, args=[*args, *(len(f.keywords) for f in features)], client=pipe)
        (*found, flat), (*archived, stored) = pipe.execute()
        centroids = {flat[i]: json.loads(flat[i + 1]) for i in range(0, len(flat), 2)}
        summaries = {stored[i]: load_summary(stored[i], stored[i + 1]) for i in range(0, len(stored), 2)}
        return Lookup(
            [[Candidate(load_record(rs[i]), int(rs[i + 1])) for i in range(0, len(rs), 2)] for rs in found],
            centroids,
            archived=[ids[::2] for ids in archived],
            summaries=summaries,
        )

    @converts_errors
    def commit(self, batch: Batch) -> dict[str, int]:
        """The batch's articles, stories and events, and its index entries, in one MULTI."""
        pipe = self.r.pipeline(transaction=True)
        counts = self.stories.queue_commit(
            pipe, batch.articles, batch.features, batch.assignments, self.clock()
        )
        records = [x.record for x in batch.assignments]
        centroids = {x.decision.story_id: x.centroid for x in batch.assignments}  # each story's last
        new = [keys for keys, counted in zip(batch.table.df_keys, batch.documents(), strict=True) if counted]
        self._queue_writes(pipe, records, centroids, new, batch.members)
        self._queue_archive(pipe, batch.summaries())
        pipe.execute()
        return counts

    def _queue_archive(self, pipe: redis.client.Pipeline, summaries: Sequence[Summary]) -> None:
        keys = [self.keys.archive]
        args: list[str | int | float] = [
            self.archive_ttl_s, self.bucket_cap, self.archive_max, self.keys.summary(""), len(summaries)
        ]  # fmt: skip
        for s in summaries:
            terms = summary_keys(s)
            keys.append(self.keys.summary(s.story_id))
            keys.extend(self.keys.archive_term(t) for t in terms)
            args += [s.story_id, s.time, dump_summary(s), len(terms)]
        self._archive(keys=keys, args=args, client=pipe)

    def _queue_writes(
        self,
        pipe: redis.client.Pipeline,
        records: Sequence[Record],
        centroids: Mapping[str, Centroid],
        doc_keys: Sequence[Iterable[str]],
        members: Sequence[MemberVector],
    ) -> None:
        """`doc_keys` holds each new document's df slots: only they count in the IDF."""
        keys = [self.keys.doc_freq, self.keys.doc_count, *(self.keys.centroid(s) for s in centroids)]
        args: list[str | int] = [self.ttl_s, self.bucket_cap, len(records), len(centroids)]
        args += [_dumps(c) for c in centroids.values()]
        for rec in records:
            keys.append(self.keys.record(rec.article_id))
            keys.extend(self.keys.bucket(b) for b in rec.bands)
            args += [rec.article_id, dump_record(rec), len(rec.bands)]
        args.append(len(doc_keys))
        for slots in doc_keys:
            args.extend(slots)
        self._write(keys=keys, args=args, client=pipe)
        for m in members:
            pipe.set(self.keys.vector(m.article_id), _dump_member(m), ex=self.ttl_s)

    @converts_errors
    def members(self, story_ids: Sequence[str]) -> dict[str, list[MemberVector]]:
        """Per story, its members whose vectors are still indexed, in the order they joined."""
        wanted = {sid: aids for sid, aids in self.stories.variant_ids(story_ids).items() if aids}
        pipe = self.r.pipeline(transaction=False)
        for aids in wanted.values():
            pipe.execute_command("MGET", *[self.keys.vector(a) for a in aids])
        out: dict[str, list[MemberVector]] = {sid: [] for sid in story_ids}
        for (sid, aids), raw in zip(wanted.items(), pipe.execute(), strict=True):
            out[sid] = [_load_member(a, v) for a, v in zip(aids, raw, strict=True) if v]
        return out

    @converts_errors
    def split(self, split: Split) -> None:
        """The split stories and their index entries in one MULTI: moved records name their new story
        (an expired record stays expired), each part gets its centroid, and each member whose relation
        changed its links."""
        pipe = self.r.pipeline(transaction=True)
        self.stories.queue_split(pipe, split, self.clock())
        moved = split.moved()
        aids = list(moved)
        raw = self.r.mget([self.keys.record(a) for a in aids]) if aids else []
        for aid, value in zip(aids, raw, strict=True):
            if value is not None:
                r = load_record(value)
                pipe.set(self.keys.record(aid), dump_record(replace(r, story_id=moved[aid])), keepttl=True)
        for sid, c in split.centroids.items():
            pipe.set(self.keys.centroid(sid), _dumps(c), ex=self.ttl_s)
        for m in (m for ms in split.parts.values() for m in ms if m.article_id in split.relations):
            d = split.relations[m.article_id]
            relinked = replace(m, matched=d.matched_article, copy=d.relation == Relation.COPY)
            pipe.set(self.keys.vector(m.article_id), _dump_member(relinked), keepttl=True)
        self._queue_archive(pipe, split.summaries)
        pipe.execute()
