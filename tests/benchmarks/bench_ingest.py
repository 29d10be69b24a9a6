"""Ingest throughput against page extraction alone, on the same pages and cores, in one run.

    python -m tests.benchmarks.bench_ingest --feeds 20 --per-feed 50 [--processes N] [--rounds 2]

Serves made-up pages and feeds from a local site, then alternates: extraction alone in N processes
(trafilatura with the options the service uses, then with trafilatura's defaults), and end to end under
`aggregator up --concurrency N` with its own redis-server and politeness off (one loopback host serves
everything: politeness would measure itself): feeds added to every article clustered.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trafilatura

from aggregator.core.identity import article_id
from aggregator.devserver import embedded, free_port
from aggregator.dispatch import celery_client
from aggregator.ingest.extract import Extracted, extract_page
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


def _service_options(job: tuple[bytes, str]) -> bool:
    return isinstance(extract_page(job[0], job[1]), Extracted)


def _trafilatura_defaults(job: tuple[bytes, str]) -> bool:
    return trafilatura.bare_extraction(job[0], url=job[1]) is not None


def extraction_only(pages: list[tuple[bytes, str]], processes: int, fn: Any) -> float:
    """Pages a second that extraction alone does on `processes` processes."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(fn, pages[:processes])  # each process imports and warms up first
        started = time.perf_counter()
        ok = sum(pool.map(fn, pages, chunksize=8))
        elapsed = time.perf_counter() - started
    assert ok == len(pages), f"{len(pages) - ok} pages gave no text"
    return len(pages) / elapsed


def end_to_end(site_base: str, feeds: int, per_feed: int, processes: int) -> float:
    """Articles a second from feeds added to every article clustered, under `aggregator up` (its own
    workers: feeds, webhooks, one pages worker per process, clustering) with politeness off."""
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp) / "redis") as redis_server:
        env = dict(
            os.environ, AGGREGATOR_REDIS_URL=redis_server.url, AGGREGATOR_ALLOW_PRIVATE_HOSTS="true",
            AGGREGATOR_HOST_GAP_S="0", AGGREGATOR_HOST_CONCURRENCY="64", AGGREGATOR_DATA_DIR=tmp,
            AGGREGATOR_FEEDS_FILE="/dev/null", AGGREGATOR_PORT=str(free_port()),
        )  # fmt: skip
        up = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "up", f"--concurrency={processes}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        settings = get_settings(
            redis_url=redis_server.url, allow_private_hosts=True, host_gap_s=0, host_concurrency=64
        )
        wiring = Wiring(settings, celery_client(redis_server.url))
        try:
            _wait_for_workers(wiring)
            started = time.perf_counter()
            for f in range(feeds):
                wiring.feeds.add(f"{site_base}/wire/feed{f}.xml")
            ids = [
                article_id(f"{site_base}/wire/{f}-{i}.html") for f in range(feeds) for i in range(per_feed)
            ]
            left = set(ids)
            while left and time.perf_counter() - started < 900:
                left -= wiring.articles.clustered(sorted(left))
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            assert not left, f"{len(left)} articles not clustered"
            return len(ids) / elapsed
        finally:
            up.terminate()
            up.wait(60)
            wiring.close()


def _wait_for_workers(wiring: Wiring) -> None:
    """Until the four kinds of worker answer a ping."""
    from celery import Celery

    app = Celery(broker=wiring.settings.redis_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        names = {name.split("@")[0] for reply in replies for name in reply}
        if {"feeds", "webhooks", "clustering", "pages1"} <= names:
            return
    raise RuntimeError("the workers did not come up")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--per-feed", type=int, default=50)
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the three measurements")
    args = ap.parse_args()
    rng = random.Random(7)
    site, server = serve()
    pages = []
    for f in range(args.feeds):
        items = []
        for i in range(args.per_feed):
            title, body = article_text(rng, f * args.per_feed + i)
            html = page("wire", title, body)
            site.set(f"/wire/{f}-{i}.html", html)
            pages.append((html.encode(), f"{site.base}/wire/{f}-{i}.html"))
            items.append((f"{f}-{i}", title, body[:100]))
        site.set(f"/wire/feed{f}.xml", rss(site.base, "wire", items, 1.7e9), ctype="application/rss+xml")
    try:
        for r in range(args.rounds):
            service = extraction_only(pages, args.processes, _service_options)
            defaults = extraction_only(pages, args.processes, _trafilatura_defaults)
            e2e = end_to_end(site.base, args.feeds, args.per_feed, args.processes)
            print(
                f"round {r + 1}: {len(pages)} pages, {args.processes} processes: "
                f"end to end {e2e:.0f} articles/s; "
                f"extraction alone {service:.0f} pages/s with the service's options ({e2e / service:.0%}), "
                f"{defaults:.0f} pages/s with trafilatura's defaults ({e2e / defaults:.0%})",
                flush=True,
            )
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
