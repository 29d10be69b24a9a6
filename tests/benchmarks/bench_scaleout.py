"""Clustering throughput with 1, 2 and 4 worker processes against one store, and the story-write lock's
share of it.

    python -m tests.benchmarks.bench_scaleout --articles 6000 --processes 1 2 4

Each run starts a fresh redis-server and splits bench_load's made-up stream (every fifth article a
retitled copy) between P processes, article i to process i mod P, so that every process meets stories
the others began. Each process clusters its share through `Ingest.cluster` in batches of 20, as the
clustering worker does, timing how long it waits for the lock and how long it holds it. Prints articles
per second for each P and the lock's ceiling: articles per second held under it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from aggregator.devserver import embedded
from aggregator.settings import get_settings
from aggregator.wiring import Wiring
from tests.benchmarks.bench_retention import stream
from tests.fixtures.sender import Recorder

BATCH = 20


def _worker(url: str, share: list[Any], start: Any, out: Any) -> None:
    wiring = Wiring(get_settings(redis_url=url), sender=Recorder())
    index = wiring.index
    held = waited = 0.0
    original = index.lock

    def timed_lock() -> Any:
        nonlocal held, waited
        asked = time.perf_counter()
        lock = original()

        class Timed:
            def __enter__(self) -> None:
                nonlocal waited
                lock.__enter__()
                self.got = time.perf_counter()
                waited += self.got - asked

            def __exit__(self, *exc: object) -> None:
                nonlocal held
                held += time.perf_counter() - self.got
                lock.__exit__(*exc)

        return Timed()

    index.lock = timed_lock  # type: ignore[method-assign]
    start.wait()
    began = time.perf_counter()
    for i in range(0, len(share), BATCH):
        wiring.ingest.cluster(share[i : i + BATCH])
    out.put((time.perf_counter() - began, held, waited))
    wiring.close()


def run(articles: list[Any], processes: int) -> tuple[float, float, float]:
    """(wall seconds, seconds held under the lock, seconds waited for it), summed over processes."""
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as server:
        ctx = multiprocessing.get_context("spawn")
        start, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(server.url, articles[p::processes], start, out))
            for p in range(processes)
        ]
        for proc in procs:
            proc.start()
        time.sleep(3)  # every process imported and connected
        began = time.perf_counter()
        start.set()
        results = [out.get(timeout=3600) for _ in procs]
        wall = time.perf_counter() - began
        for proc in procs:
            proc.join()
        return wall, sum(r[1] for r in results), sum(r[2] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=6000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    articles = list(stream(args.articles))
    print(f"{'processes':>9} {'articles/s':>11} {'lock held s':>12} {'lock waited s':>14} {'ceiling/s':>10}")
    for p in args.processes:
        wall, held, waited = run(articles, p)
        print(f"{p:9d} {len(articles) / wall:11.0f} {held:12.1f} {waited:14.1f} {len(articles) / held:10.0f}")


if __name__ == "__main__":
    main()
