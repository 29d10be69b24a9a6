"""Redis bytes per article by key family, after clustering a stream of made-up articles.

    python -m tests.benchmarks.bench_store_memory --articles 50000

Takes bench_load's made-up articles (every fifth a retitled copy) into a fresh redis-server the way
the workers do, with the default settings (the story window and retention far longer than the run:
nothing expires): each batch's feed entries are stored as pending (with a summary of the article's
first 250 characters, a guid that is its link and a publication time, as most feeds give), then its
clean articles as extracted, then the clustering worker's `Ingest.cluster_extracted` clusters them.
Then it asks Redis for every key's MEMORY USAGE and sums it by family (the key's name up to its id),
and prints bytes and keys per article for each family and in all, with the event log apart (it has
its own cap).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from aggregator.core.models import Article, Entry
from aggregator.devserver import embedded
from aggregator.settings import get_settings
from aggregator.wiring import Wiring
from tests.benchmarks.bench_retention import stream
from tests.fixtures.sender import Recorder

BATCH = 20  # the default ingest batch: what one clustering task takes


def family(key: str, prefix: str) -> str:
    """`agg:story:{s1}:variants` -> `story:variants`; `agg:idx:{idx}:b:3:917` -> `idx:b`."""
    rest = key[len(prefix) + 1 :] if key.startswith(prefix + ":") else key
    if rest.startswith("{idx}:"):  # the index: its kind is the letter after the tag, then ids or words
        return "idx:" + rest.split(":")[1]
    parts = [p for p in rest.split(":") if p and not re.search(r"\d|^\{", p)]
    return ":".join(parts[:2]) or rest


def ingest(wiring: Wiring, batch: list[Article]) -> None:
    """The batch as a feed lists it, its pages extracted, then clustered."""
    now = time.time()
    published = [now - 3600 + i for i in range(len(batch))]
    entries = [
        Entry(a.id, a.url, a.url, a.title, a.text[:250].rsplit(" ", 1)[0] + " …", p, None, None, "en")
        for a, p in zip(batch, published, strict=True)
    ]
    fid = batch[0].feed_id
    wiring.articles.add_entries(fid, entries, now)
    wiring.articles.store_extracted(
        [replace(a, published=p, fetched=now) for a, p in zip(batch, published, strict=True)], now
    )
    wiring.ingest.cluster_extracted()


def measure(articles: int) -> dict[str, tuple[int, int]]:
    """family -> (bytes, keys) after clustering `articles` articles."""
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as server:
        settings = get_settings(redis_url=server.url)
        wiring = Wiring(settings, sender=Recorder())
        started = time.perf_counter()
        batch: list[Article] = []
        for n, article in enumerate(stream(articles), 1):
            batch.append(article)
            if len(batch) == BATCH or n == articles:
                ingest(wiring, batch)
                batch = []
            if n % 10_000 == 0:
                print(f"  {n} articles clustered, {time.perf_counter() - started:.0f} s", flush=True)
        sizes: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        keys = list(wiring.redis.scan_iter(count=5000))
        for i in range(0, len(keys), 1000):
            pipe = wiring.redis.pipeline(transaction=False)
            chunk = keys[i : i + 1000]
            for key in chunk:
                pipe.memory_usage(key, samples=0)
            for key, used in zip(chunk, pipe.execute(), strict=True):
                name = family(key, settings.key_prefix)
                sizes[name] += used or 0
                counts[name] += 1
        info = wiring.redis.info("memory")
        print(f"  used_memory {info['used_memory'] / 2**20:.1f} MiB for {len(keys)} keys", flush=True)
        wiring.close()
        return {name: (sizes[name], counts[name]) for name in sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50_000)
    args = parser.parse_args()
    found = measure(args.articles)
    n = args.articles
    total = sum(b for name, (b, _) in found.items() if name != "events")
    print(f"{'family':24} {'B/article':>10} {'keys/article':>13} {'share':>6}")
    for name, (used, keys) in sorted(found.items(), key=lambda kv: -kv[1][0]):
        share = f"{used / total:6.1%}" if name != "events" else "   own"
        print(f"{name:24} {used / n:10.0f} {keys / n:13.2f} {share}")
    print(
        f"{'all but events':24} {total / n:10.0f}   -> {total / n * 1_000_000 / 2**30:.1f} GiB at 1M articles"
    )


if __name__ == "__main__":
    main()
