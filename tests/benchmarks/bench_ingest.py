"""Ingest throughput from a local site: feeds -> pages -> extraction -> clustering, with real workers.

    python -m tests.benchmarks.bench_ingest --feeds 20 --per-feed 50 --concurrency 2

Starts its own redis-server and fixture site on loopback, runs `aggregator worker` as a subprocess,
subscribes every feed and reports articles ingested per second (first POST to last article clustered).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aggregator.core.identity import article_id
from aggregator.devserver import embedded
from aggregator.dispatch import celery_client
from aggregator.settings import get_settings
from aggregator.wiring import Wiring
from tests.fixtures.site import page, rss, serve

WORDS = [
    "council",
    "harbour",
    "minister",
    "river",
    "election",
    "storm",
    "bridge",
    "court",
    "police",
    "budget",
    "hospital",
    "school",
    "rail",
    "airport",
    "festival",
    "museum",
    "factory",
    "union",
    "strike",
    "market",
    "bank",
    "inflation",
    "drought",
    "flood",
    "fire",
    "border",
    "treaty",
    "summit",
    "vaccine",
    "stadium",
    "league",
    "coach",
    "orchestra",
    "satellite",
    "volcano",
    "glacier",
    "pipeline",
    "mine",
]


def article_text(rng: random.Random, n: int) -> tuple[str, str]:
    names = [f"{rng.choice(WORDS).title()}{rng.randint(100, 999)}" for _ in range(4)]
    sentences = []
    for _ in range(12):
        words = [rng.choice(WORDS + names) for _ in range(rng.randint(10, 18))]
        sentence = " ".join(words)  # names keep their capitals: they are what tells the stories apart
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return f"Story {n}: {' '.join(names)}", " ".join(sentences[:6]) + "\n\n" + " ".join(sentences[6:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--per-feed", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args()
    rng = random.Random(7)
    site, server = serve()
    total = args.feeds * args.per_feed
    for f in range(args.feeds):
        items = []
        for i in range(args.per_feed):
            title, body = article_text(rng, f * args.per_feed + i)
            site.set(f"/wire/{f}-{i}.html", page("wire", title, body))
            items.append((f"{f}-{i}", title, body[:100]))
        site.set(f"/wire/feed{f}.xml", rss(site.base, "wire", items, 1.7e9), ctype="application/rss+xml")
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as redis_server:
        # Every outlet is one loopback host here: per-host politeness would measure itself, not ingest.
        env = dict(
            os.environ, AGGREGATOR_REDIS_URL=redis_server.url, AGGREGATOR_ALLOW_PRIVATE_HOSTS="true",
            AGGREGATOR_HOST_GAP_S="0", AGGREGATOR_HOST_CONCURRENCY="64",
        )  # fmt: skip
        worker = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "worker", f"--concurrency={args.concurrency}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        settings = get_settings(
            redis_url=redis_server.url, allow_private_hosts=True, host_gap_s=0, host_concurrency=64
        )
        wiring = Wiring(settings, celery_client(redis_server.url))
        try:
            time.sleep(3)  # let the worker connect
            started = time.perf_counter()
            for f in range(args.feeds):
                wiring.feeds.add(f"{site.base}/wire/feed{f}.xml")
            ids = [
                article_id(f"{site.base}/wire/{f}-{i}.html")
                for f in range(args.feeds)
                for i in range(args.per_feed)
            ]
            while True:
                done = len(wiring.articles.clustered(ids))
                if done >= total or time.perf_counter() - started > 600:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            stories = wiring.redis.zcard(wiring.keys.stories_updated)
            print(
                f"{done} of {total} articles in {elapsed:.1f}s: "
                f"{done / elapsed:.0f} articles/s, {stories} stories"
            )
        finally:
            worker.terminate()
            worker.wait(30)
            wiring.close()
            server.shutdown()


if __name__ == "__main__":
    main()
