"""The clustering index in Redis: the `core.pipeline.Index` the workers cluster against.

LSH buckets, article entries (record and member vector, `store/entries.py`), story centroids and
document frequencies, all under the `{idx}` hash tag, plus the story-write lock. Round trips per
batch, not per article: one call finds a batch's candidates and their centroids
(`lua/index_candidates.lua`), and one MULTI commits the batch's stories (`StoryStore`) together with
its index entries (`lua/index_write.lua`), so a crash leaves all of a batch or none. Entries expire
with the story window.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
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
from aggregator.store import packing, scripts
from aggregator.store.connection import converts_errors, held_lock
from aggregator.store.entries import (
    dump_centroid,
    dump_entry,
    dump_summary,
    is_entry,
    load_centroid,
    load_member,
    load_record,
    load_summary,
)
from aggregator.store.keys import LOCK_TTL_MS, Keys
from aggregator.store.stories import StoryStore

# The LSH buckets are fields of hashes (a key each would cost more than most buckets hold), a hash per
# group of band keys (band key % BUCKET_GROUPS) and time part. Entries go to the part of the time they
# were written; a part is a third of the story window and lives a window longer, so the window's
# entries are in the newest four parts, which a search reads, newest first. Redis keeps a hash compact
# up to 64 fields (hash-max-listpack-entries 128): with 16,384 groups, a part holds about a million
# buckets before its hashes grow past that, some 200,000 articles a part.
BUCKET_GROUPS = 16384
PARTS_READ = 4


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
        self.part_s = max(1, self.ttl_s // (PARTS_READ - 1))
        self.archive_ttl_s = max(1, int(archive_s))
        self.archive_max = archive_max
        self.clock = clock
        self._write = scripts.register(client, "index_write")
        self._candidates = scripts.register(client, "index_candidates")
        self._archive = scripts.register(client, "archive_write")
        self._archived = scripts.register(client, "archive_candidates")

    def _part(self) -> int:
        """The time part new bucket entries go to (see PARTS_READ)."""
        return int(self.clock() // self.part_s)

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
        part = self._part()
        parts = [self.keys.buckets(p, "") for p in range(part, part - PARTS_READ, -1)]
        args: list[str | int] = [limit, self.keys.record(""), self.keys.centroid(""), self.keys.vector("")]
        args.append(self.bucket_cap)
        args += [BUCKET_GROUPS, len(parts), *parts]
        for f in features:
            args += [len(f.bands), *f.bands]
        # The keys are built in the script; the one declared names the index's slot for a cluster.
        self._candidates(keys=[self.keys.doc_count], args=args, client=pipe)
        keys = [self.keys.archive_term(t) for f in features for t in f.keywords]
        args = [limit, FOLLOWUP_MIN_SHARED, self.keys.summary("")]
        self._archived(keys=keys, args=[*args, *(len(f.keywords) for f in features)], client=pipe)
        (*found, flat), (*archived, stored) = pipe.execute()
        centroids = {flat[i]: load_centroid(flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)}
        # The archive names stories by their refs; their summaries name them (a story listed both by
        # ref and, from before refs, by id counts once).
        by_ref = {stored[i]: load_summary(stored[i], stored[i + 1]) for i in range(0, len(stored), 2)}
        records: dict[str, Record] = {}  # a batch's articles mostly find the same few entries

        def record(value: str) -> Record:
            if (r := records.get(value)) is None:
                r = records[value] = load_record(value)
            return r

        return Lookup(
            [[Candidate(record(rs[i]), int(rs[i + 1])) for i in range(0, len(rs), 2)] for rs in found],
            centroids,
            archived=[
                list(dict.fromkeys(by_ref[r].story_id for r in refs[::2] if r in by_ref)) for refs in archived
            ],
            summaries={s.story_id: s for s in by_ref.values()},
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
        # A story of one article has that article's vector for centroid: the search reads the vector
        # (lua/index_candidates.lua), and the centroid is kept once a second article joins.
        for f, x in zip(batch.features, batch.assignments, strict=True):
            if counts.get(x.decision.story_id) == 1 and x.centroid == f.vector:
                centroids.pop(x.decision.story_id, None)
        new = [keys for keys, counted in zip(batch.table.df_keys, batch.documents(), strict=True) if counted]
        self._queue_writes(pipe, records, centroids, new, batch.members)
        self._queue_archive(pipe, batch.summaries())
        pipe.execute()
        return counts

    def _queue_archive(self, pipe: redis.client.Pipeline, summaries: Sequence[Summary]) -> None:
        keys = [self.keys.archive]
        args: list[str | int | float | bytes] = [
            self.archive_ttl_s, self.bucket_cap, self.archive_max, self.keys.summary(""), len(summaries)
        ]  # fmt: skip
        for s in summaries:
            terms, name = summary_keys(s), packing.ref(s.story_id)
            keys.append(self.keys.summary(name))
            keys.extend(self.keys.archive_term(t) for t in terms)
            args += [name, s.time, dump_summary(s), len(terms)]
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
        args: list[str | int | bytes] = [
            self.ttl_s,
            self.ttl_s + self.part_s,
            self.bucket_cap,
            packing.REF_CHARS,
        ]
        args += [self.keys.buckets(self._part(), ""), BUCKET_GROUPS, len(records), len(centroids)]
        args += [dump_centroid(c) for c in centroids.values()]
        for rec, member in zip(records, members, strict=True):
            keys.append(self.keys.record(packing.ref(rec.article_id)))
            args += [packing.ref(rec.article_id), dump_entry(rec, member), len(rec.bands), *rec.bands]
        args.append(len(doc_keys))
        for slot, n in Counter(slot for slots in doc_keys for slot in slots).items():
            args += [slot, n]  # a slot the batch's documents share is counted by one command
        self._write(keys=keys, args=args, client=pipe)

    @converts_errors
    def members(self, story_ids: Sequence[str]) -> dict[str, list[MemberVector]]:
        """Per story, its members whose vectors are still indexed, in the order they joined."""
        wanted = {sid: aids for sid, aids in self.stories.variant_ids(story_ids).items() if aids}
        pipe = self.r.pipeline(transaction=False)
        for aids in wanted.values():
            pipe.execute_command("MGET", *[self.keys.record(packing.ref(a)) for a in aids])
        out: dict[str, list[MemberVector]] = {sid: [] for sid in story_ids}
        for (sid, aids), raw in zip(wanted.items(), pipe.execute(), strict=True):
            # An entry under an article's ref that names another article is that one's (packing.ref).
            entries = [(a, v) for a, v in zip(aids, raw, strict=True) if v and is_entry(v)]
            out[sid] = [m for a, v in entries if (m := load_member(a, v)).article_id == a]
        return out

    @converts_errors
    def split(self, split: Split) -> None:
        """The split stories and their index entries in one MULTI: moved records name their new story
        (an expired record stays expired), each part gets its centroid, and each member whose relation
        changed its links."""
        pipe = self.r.pipeline(transaction=True)
        self.stories.queue_split(pipe, split, self.clock())
        moved = split.moved()
        aids = list(dict.fromkeys([*moved, *split.relations]))
        raw = self.r.mget([self.keys.record(packing.ref(a)) for a in aids]) if aids else []
        for aid, value in zip(aids, raw, strict=True):
            # An expired entry stays expired; one stored before entries held members is left as it is.
            if value is None or not is_entry(value):
                continue
            r, m = load_record(value), load_member(aid, value)
            if r.article_id != aid:  # another article's entry under the same ref (see packing.ref)
                continue
            if aid in moved:
                r = replace(r, story_id=moved[aid])
            if aid in split.relations:
                d = split.relations[aid]
                m = replace(m, matched=d.matched_article, copy=d.relation == Relation.COPY)
            pipe.set(self.keys.record(packing.ref(aid)), dump_entry(r, m), keepttl=True)
        for sid, c in split.centroids.items():
            pipe.set(self.keys.centroid(sid), dump_centroid(c), ex=self.ttl_s)
        self._queue_archive(pipe, split.summaries)
        pipe.execute()
