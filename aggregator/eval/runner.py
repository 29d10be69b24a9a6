"""Running a corpus through the pipeline, against the in-memory index or the Redis one the workers
use (under a throw-away key prefix), and scoring what comes out. Both run `ClusterPipeline` in the same
batches, so they give the same stories."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import redis
from tqdm import tqdm

from aggregator.core import canonical
from aggregator.core.models import Article, Extraction, Relation
from aggregator.core.pipeline import ClusterPipeline, Outcome
from aggregator.errors import InvalidInput, StorageError
from aggregator.eval.corpus import read_corpus, shuffled
from aggregator.eval.scoring import score
from aggregator.eval.syndicate import syndicate, syndicated_from
from aggregator.settings import Settings
from aggregator.store.memory_index import MemoryIndex
from aggregator.wiring import Wiring, pipeline_from

log = logging.getLogger(__name__)


def batches(items: Sequence[Article], size: int, progress: bool = False) -> Iterator[Sequence[Article]]:
    """`items` in batches of `size`; with `progress`, a bar on standard error when it is a terminal."""
    with tqdm(total=len(items), unit="article", disable=None if progress else True, leave=False) as bar:
        for i in range(0, len(items), size):
            yield items[i : i + size]
            bar.update(min(size, len(items) - i))


def memory_index(settings: Settings) -> MemoryIndex:
    s = settings
    return MemoryIndex(s.bucket_cap, s.window_s, s.archive_s, s.archive_max_stories)


@dataclass(frozen=True)
class Clustered:
    stories: dict[str, str]  # article id -> story id
    canonicals: dict[str, str]  # story id -> the article the canonical policy chose


class InMemory:
    """The pipeline against one in-memory index, batch after batch: eval and the benchmarks. It keeps
    what the canonical policy needs of each article, as the Redis store does."""

    def __init__(self, settings: Settings) -> None:
        self.pipeline: ClusterPipeline = pipeline_from(settings)
        self.index = memory_index(settings)
        self.stories: dict[str, str] = {}
        self.candidates: dict[str, canonical.Candidate] = {}

    def add(self, batch: Sequence[Article]) -> Outcome:
        outcome = self.pipeline.run(batch, self.index)
        for a, m in zip(batch, outcome.batch.members, strict=True):
            self.candidates[a.id] = canonical.Candidate(
                a.id,
                a.feed_id,
                a.source,
                a.credits,
                a.extraction == Extraction.PAGE,
                m.length,
                m.time,
                m.copy_of,
            )
        for split in outcome.splits:
            for aid, d in split.relations.items():
                copy_of = d.matched_article if d.relation == Relation.COPY else None
                self.candidates[aid] = replace(self.candidates[aid], copy_of=copy_of)
        self.stories.update(outcome.stories())
        # The index's objects live until pruned and hold no cycles: keep the cyclic collector from
        # rescanning them all on every collection, a cost that would grow with the index.
        gc.freeze()
        return outcome

    def result(self) -> Clustered:
        members: dict[str, list[canonical.Candidate]] = {}
        for aid, sid in self.stories.items():
            members.setdefault(sid, []).append(self.candidates[aid])
        return Clustered(dict(self.stories), {sid: canonical.choose(ms) for sid, ms in members.items()})


def cluster_in_memory(articles: Sequence[Article], settings: Settings, progress: bool = False) -> Clustered:
    run = InMemory(settings)
    for batch in batches(articles, settings.ingest_batch_size, progress):
        run.add(batch)
    return run.result()


def cluster_in_redis(articles: Sequence[Article], settings: Settings, progress: bool = False) -> Clustered:
    """The stories and canonicals as the Redis store holds them at the end."""
    prefix = f"eval-{uuid.uuid4().hex[:8]}"
    wiring = Wiring(settings.model_copy(update={"key_prefix": prefix}))
    try:
        for batch in batches(articles, settings.ingest_batch_size, progress):
            wiring.pipeline.run(batch, wiring.index)
        stories = wiring.views.story_ids([a.id for a in articles])
        return Clustered(stories, wiring.views.canonicals(sorted(set(stories.values()))))
    finally:
        try:
            keys = list(wiring.redis.scan_iter(f"{prefix}:*", count=1000))
            for i in range(0, len(keys), 1000):  # one command per thousand keys, not one per key
                wiring.redis.unlink(*keys[i : i + 1000])
        except redis.RedisError as exc:  # the run's own error, if any, is the one to report
            log.warning("eval: the keys under %s:* were not removed: %s", prefix, exc)
        wiring.close()


def copies_canonical(clustered: Clustered) -> int:
    """Stories whose canonical is a syndicated copy (`syndicate.copy_id`) while its source is in them."""
    return sum(
        1
        for sid, aid in clustered.canonicals.items()
        if (source := syndicated_from(aid)) and clustered.stories.get(source) == sid
    )


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    if not args.memory and not settings.redis_url:
        raise InvalidInput("without --memory, eval needs Redis: set AGGREGATOR_REDIS_URL, or add --memory")
    rows = read_corpus(Path(args.corpus))
    if args.shuffle is not None:
        rows = shuffled(rows, args.shuffle)
    rows = syndicate(rows, args.syndicate, args.seed)
    articles = [a for a, _ in rows]
    truth = {a.id: c for a, c in rows}
    started = time.perf_counter()
    if args.memory:
        clustered = cluster_in_memory(articles, settings, progress=True)
    else:
        try:
            clustered = cluster_in_redis(articles, settings, progress=True)
        except StorageError as exc:
            raise StorageError(
                f"{exc} (is Redis running at AGGREGATOR_REDIS_URL? --memory needs none)"
            ) from exc
    elapsed = time.perf_counter() - started
    predicted = clustered.stories
    result: dict[str, Any] = asdict(score(predicted, truth))
    result["articles_per_second"] = round(len(articles) / elapsed, 1) if elapsed else 0.0
    if args.syndicate:
        result["copies_canonical"] = copies_canonical(clustered)
    if args.assignments:
        with open(args.assignments, "w", encoding="utf-8") as fh:
            for a in articles:
                fh.write(json.dumps({"id": a.id, "story": predicted[a.id]}) + "\n")
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:22} {value:.4f}" if isinstance(value, float) else f"{key:22} {value}")
    return 0
