"""CPU an article for clustering against Redis as stories grow: a corpus with K syndicated copies of
every article, for each K asked.

    python -m tests.benchmarks.bench_story_size ../shared/datasets/ecbplus.jsonl --copies 3 10 20

Runs `ClusterPipeline` batch after batch against a fresh embedded redis-server, as the clustering
worker does (without Celery and the lock), on the corpus with `aggregator eval --syndicate K`'s
copies in time order. Prints, per K, the stories' median and largest size, and the CPU this process
and Redis took an article; the stories are the same from run to run (a digest of them is printed).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

from aggregator.devserver import embedded
from aggregator.eval.corpus import read_corpus
from aggregator.eval.runner import batches
from aggregator.eval.syndicate import syndicate
from aggregator.settings import get_settings
from aggregator.wiring import Wiring


def run(corpus: Path, copies: int) -> str:
    articles = [a for a, _ in syndicate(read_corpus(corpus), copies)]
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as server:
        settings = get_settings(redis_url=server.url)
        wiring = Wiring(settings)
        assert server.proc is not None
        redis_process = psutil.Process(server.proc.pid)
        try:
            size = settings.ingest_batch_size
            first, rest = articles[:size], articles[size:]
            wiring.pipeline.run(first, wiring.index)  # loads what a first batch would
            redis_before, own_before = sum(redis_process.cpu_times()[:2]), time.process_time()
            stories: list[tuple[str, str]] = []
            for batch in batches(rest, size):
                outcome = wiring.pipeline.run(batch, wiring.index)
                stories += [(x.record.article_id, x.decision.story_id) for x in outcome.assignments]
            own = time.process_time() - own_before
            redis_cpu = sum(redis_process.cpu_times()[:2]) - redis_before
        finally:
            wiring.close()
    sizes = sorted(Counter(sid for _, sid in stories).values())
    digest = hashlib.sha1(repr(stories).encode()).hexdigest()[:10]
    n = len(stories)
    return (
        f"{copies} copies: {n} articles, stories of {statistics.median(sizes):.0f} at the median and "
        f"{sizes[-1]} the largest; CPU ms an article: this process {own * 1000 / n:.2f}, "
        f"Redis {redis_cpu * 1000 / n:.2f} (stories {digest})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, help="a labelled corpus (JSON Lines), read at run time")
    ap.add_argument("--copies", type=int, nargs="+", default=[3, 10, 20])
    args = ap.parse_args()
    for k in args.copies:
        print(run(args.corpus, k), flush=True)


if __name__ == "__main__":
    main()
