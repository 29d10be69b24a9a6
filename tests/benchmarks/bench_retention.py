"""Redis memory on an endless stream, with and without story retention.

    python -m tests.benchmarks.bench_retention --articles 20000 --retention-s 10

Clusters made-up articles (bench_load's, every fifth a retitled copy) straight into a fresh
redis-server through `Ingest.cluster`, sweeping with `StoryRetention.expire` after every batch
once a second has passed, as the beat task would. It runs the stream twice, with the retention given
(the story window equal to it) and with retention off, and prints Redis's `used_memory` and key count
per window of the stream. With retention the figures level off; without it they grow with every article.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from aggregator.core.identity import article_id, feed_id
from aggregator.core.models import Article
from aggregator.devserver import embedded
from aggregator.settings import get_settings
from aggregator.wiring import Wiring
from tests.benchmarks.bench_load import texts


def stream(articles: int) -> list[Article]:
    """Made-up articles with ids, links and outlet names of a real feed's length: what a store keeps
    per article depends on them."""
    out = []
    for n, (title, body) in zip(range(articles), texts(), strict=False):
        url = f"https://www.example-news.com/world/2026/12/03/story-number-{n}-told-in-full.html"
        out.append(
            Article(id=article_id(url), url=url, feed_id=feed_id("https://www.example-news.com/rss/world.xml"),
                    title=title, text=body, source="example-news.com", published=None, fetched=0.0)
        )  # fmt: skip
    return out


def run(
    articles: list[Article], retention_h: float, windows: int
) -> list[tuple[int, float, int, int, float]]:
    """(articles so far, seconds, Redis used_memory in MiB, keys, stories retired) per window."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as server:
        window_h = retention_h or 72.0
        settings = get_settings(redis_url=server.url, story_window_h=window_h, story_retention_h=retention_h)
        wiring = Wiring(settings)
        step = max(1, len(articles) // windows)
        started = last_sweep = time.time()
        retired = 0
        for i in range(0, len(articles), settings.ingest_batch_size):
            now = time.time()  # the stream arrives now: retention counts in real time
            batch = [replace(a, fetched=now) for a in articles[i : i + settings.ingest_batch_size]]
            wiring.ingest.cluster(batch)
            if time.time() - last_sweep >= 1.0:
                retired += wiring.retention.expire()
                last_sweep = time.time()
            done = i + len(batch)
            if done % step < settings.ingest_batch_size or done == len(articles):
                info = wiring.redis.info("memory")
                mib = int(info["used_memory"]) / 2**20
                rows.append((done, time.time() - started, round(mib, 1), wiring.redis.dbsize(), retired))
        wiring.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--retention-s", type=float, default=10.0)
    parser.add_argument("--windows", type=int, default=10)
    args = parser.parse_args()
    articles = stream(args.articles)
    for label, hours in (
        (f"retention {args.retention_s:g} s", args.retention_s / 3600),
        ("retention off", 0.0),
    ):
        print(f"\n{label}")
        print(f"{'articles':>9} {'seconds':>8} {'used MiB':>9} {'keys':>8} {'retired':>8}")
        for done, secs, mib, keys, retired in run(articles, hours, args.windows):
            print(f"{done:>9} {secs:>8.1f} {mib:>9.1f} {keys:>8} {retired:>8}")


if __name__ == "__main__":
    main()
