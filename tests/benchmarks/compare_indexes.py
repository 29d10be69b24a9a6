"""Do the in-memory and the Redis index give the same stories on whole corpora?

    python -m tests.benchmarks.compare_indexes ../shared/datasets/seeds.jsonl ../shared/datasets/ecbplus.jsonl

Each corpus is clustered by `aggregator eval`'s two paths with the default settings: in memory, and
against a redis-server of its own on loopback (started here, removed after). Prints, per corpus, the
articles, the stories each path made, how many articles were assigned differently, and both times.
Exits 1 if any article differs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from aggregator.devserver import embedded
from aggregator.eval.corpus import read_corpus
from aggregator.eval.runner import cluster_in_memory, cluster_in_redis
from aggregator.settings import defaults


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    args = parser.parse_args()
    differ = 0
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as server:
        settings = defaults(redis_url=server.url)
        print("corpus                 articles  stories(mem)  stories(redis)  differ  mem_s  redis_s")
        for path in args.corpora:
            articles = [a for a, _ in read_corpus(path)]
            t0 = time.perf_counter()
            memory = cluster_in_memory(articles, settings).stories
            t1 = time.perf_counter()
            stored = cluster_in_redis(articles, settings).stories
            t2 = time.perf_counter()
            n = sum(1 for a in articles if memory[a.id] != stored.get(a.id))
            differ += n
            print(
                f"{path.stem:22} {len(articles):8d}  {len(set(memory.values())):12d}  "
                f"{len(set(stored.values())):14d}  {n:6d}  {t1 - t0:5.1f}  {t2 - t1:7.1f}"
            )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
