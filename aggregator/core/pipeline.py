"""The clustering pipeline: the one driver of the core's steps, run against any `Index`.

A batch of clean articles goes: term counts -> document frequencies (read from the index) -> features
-> candidates and their stories' centroids (from the index) -> one decision per article -> commit (to
the index) -> the split check of every story the batch grew. The worker runs it against the Redis index
under the story-write lock (`store/index.py`); `aggregator eval --memory`, the benchmarks and the unit
tests against the in-memory one (`store/memory_index.py`). Both must give the same stories, and one
contract suite (`tests/contract/`) holds them to it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from aggregator.core.centroid import centroid_of, summary
from aggregator.core.clustering import Clusterer, Thresholds
from aggregator.core.fingerprint import DocFrequencies, FeatureParams, features_batch, prepare_batch
from aggregator.core.models import (
    Article,
    Assignment,
    Features,
    Lookup,
    MemberVector,
    Relation,
    Split,
    Summary,
)
from aggregator.core.splitting import SplitRule, due_stories, relations_after, split_plans
from aggregator.core.terms import TermTable, Vocabulary


@dataclass(frozen=True)
class Batch:
    """A decided batch, as the index commits it."""

    articles: Sequence[Article]
    features: Sequence[Features]
    assignments: Sequence[Assignment]
    table: TermTable  # the batch's term counts: the document frequencies it adds

    def documents(self) -> list[bool]:
        """Which articles count as new documents in the document frequencies: not copies. A story
        republished by ten outlets is one document; counted ten times, its own words would weigh as
        little as the commonest, and its next rewrite would not find it."""
        return [x.decision.relation != Relation.COPY for x in self.assignments]

    def summaries(self) -> list[Summary]:
        """Each story the batch touched, as the archive keeps it after this batch."""
        last = {x.decision.story_id: x for x in self.assignments}
        return [summary(sid, x.centroid, x.record.article_id, x.record.time) for sid, x in last.items()]

    @cached_property
    def members(self) -> list[MemberVector]:
        """The batch's articles as the split check compares them."""
        return [
            MemberVector(
                a.id, x.record.time, f.length, f.vector, x.decision.matched_article,
                x.decision.relation == Relation.COPY,
            )
            for a, f, x in zip(self.articles, self.features, self.assignments, strict=True)
        ]  # fmt: skip


class Index(Protocol):
    """Where clustering state persists between batches: LSH buckets, records, centroids, document
    frequencies and the members the split check reads."""

    def doc_freq(self, table: TermTable) -> DocFrequencies:
        """The document frequencies of the batch's terms."""
        ...

    def candidates(self, features: Sequence[Features], limit: int, now: float) -> Lookup:
        """Per article, up to `limit` live records sharing the most of its bands, ties by article id,
        and the centroids of their stories; and the archived stories whose key terms (`summary_keys`)
        its keywords share, the most shared first, ties by story id, with their summaries. Live and
        archived count back from `now`, the batch's latest time (the Redis index's entries expire on
        its own clock)."""
        ...

    def commit(self, batch: Batch) -> Mapping[str, int]:
        """Keep the batch: records in their buckets (each bucket its newest `bucket_cap`), each story's
        latest centroid and summary, the members, one document more in each df slot of each of its
        `documents`. Returns each story the batch touched -> its number of variants now."""
        ...

    def members(self, story_ids: Sequence[str]) -> Mapping[str, Sequence[MemberVector]]:
        """Each story's members still in the window, in the order they joined."""
        ...

    def split(self, split: Split) -> None:
        """Make `split.story_id` the stories of `split.parts`, each with its centroid and summary, and
        store the changed relations: later candidates name the part their record moved to."""
        ...


@dataclass(frozen=True)
class Outcome:
    batch: Batch
    splits: list[Split]

    @property
    def assignments(self) -> Sequence[Assignment]:
        return self.batch.assignments

    def stories(self) -> dict[str, str]:
        """Article id -> story id: the batch's, then those of earlier articles a split moved."""
        out = {x.record.article_id: x.decision.story_id for x in self.assignments}
        for split in self.splits:
            out.update(split.moved())
        return out


class ClusterPipeline:
    """Runs batches through the core against an index. Safe to share between threads: the vocabulary,
    its only state, is counted one batch at a time."""

    def __init__(
        self,
        thresholds: Thresholds,
        split_rule: SplitRule,
        features: FeatureParams,
        published_skew_s: float = float("inf"),
        vocabulary: int = 500_000,
    ) -> None:
        self.thresholds = thresholds
        self.split_rule = split_rule
        self.features = features
        self.published_skew_s = published_skew_s
        self.clusterer = Clusterer(thresholds)
        self._vocabulary = Vocabulary(vocabulary)
        self._counting = threading.Lock()

    def run(self, articles: Sequence[Article], index: Index) -> Outcome:
        """Cluster one batch, in order, as if its articles had come one at a time."""
        if not articles:
            return Outcome(Batch([], [], [], self._count([])), [])
        table = self._count(articles)
        feats = features_batch(table, index.doc_freq(table), self.features)
        times = [self.event_time(a) for a in articles]
        lookup = index.candidates(feats, self.thresholds.max_candidates, max(times))
        assigned = self.clusterer.assign([a.id for a in articles], feats, times, lookup)
        batch = Batch(articles, feats, assigned, table)
        sizes = index.commit(batch)
        return Outcome(batch, self._split(assigned, sizes, index))

    def event_time(self, a: Article) -> float:
        """The story window's clock for an article: when it was published, unless that is missing, in
        the future or further than `published_skew_s` from when it was first seen (some outlets give a
        crawl or update time); then when it was first seen."""
        p = a.published
        return p if p is not None and a.fetched - self.published_skew_s <= p <= a.fetched + 60 else a.fetched

    def _count(self, articles: Sequence[Article]) -> TermTable:
        with self._counting:
            if self._vocabulary.full:  # a new one, not cleared: earlier tables keep reading theirs
                self._vocabulary = Vocabulary(self._vocabulary.limit)
            return prepare_batch(articles, self._vocabulary)

    def _split(self, assigned: Sequence[Assignment], sizes: Mapping[str, int], index: Index) -> list[Split]:
        """Split the stories the batch grew whose members now show two events (`core/splitting.py`)."""
        grown = Counter(x.decision.story_id for x in assigned)
        due = due_stories({sid: (n - grown[sid], n) for sid, n in sizes.items()}, self.split_rule)
        if not due:
            return []
        keep = self.thresholds.centroid_terms
        done = []
        for sid, parts in split_plans(index.members(due), self.split_rule).items():
            centroids = {s: centroid_of(ms, keep) for s, ms in parts.items()}
            summaries = [summary(s, centroids[s], ms[-1].article_id, ms[-1].time) for s, ms in parts.items()]
            split = Split(sid, parts, centroids, relations_after(sid, parts, centroids), summaries)
            index.split(split)
            done.append(split)
        return done
