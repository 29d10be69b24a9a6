"""Ingest throughput against page extraction alone, on the same pages and cores, in one run.

    python -m tests.benchmarks.bench_ingest --feeds 20 --per-feed 50 [--processes N] [--rounds 2]

Serves made-up pages and feeds from a local site, then alternates: extraction alone in N processes
(with trafilatura's defaults, then with the options the service uses just before and just after the
end-to-end run), and end to end under `aggregator up --concurrency N` with its own redis-server and
politeness off (one loopback host serves everything: politeness would measure itself): feeds added to
every article clustered.
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import trafilatura

from aggregator.core.identity import article_id
from aggregator.devserver import embedded, free_port
from aggregator.dispatch import celery_client
from aggregator.ingest.extract import Extracted, extract_page
from aggregator.settings import get_settings
from aggregator.wiring import Wiring
from tests.benchmarks.cpu import cpu_by_process, report_cpu, report_idle
from tests.benchmarks.static_site import StaticSite
from tests.fixtures.site import page, rss

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


def news_page(title: str, body: str, others: list[str], rng: random.Random) -> str:
    """An article inside the furniture news pages carry: menus, a cookie banner, inline scripts and
    their configuration, a most-read list, comments and a long footer (about 60 KB around the text)."""

    def links(n: int) -> str:
        return "".join(
            f'<li><a href="/s/{rng.randint(1, 10**6)}">{html.escape(rng.choice(others))}</a></li>'
            for _ in range(n)
        )

    config = ",".join(f'"k{i}":"{rng.getrandbits(64):x}"' for i in range(600))
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n") if p.strip())
    comments = "".join(
        f'<div class="comment"><b>reader{i}</b><p>{html.escape(rng.choice(others))}</p></div>'
        for i in range(6)
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(title)} | The Daily</title>
<meta property="og:site_name" content="The Daily"><meta name="author" content="Staff">
<script>window.__CONFIG__={{{config}}};</script><style>{"body{margin:0} " * 400}</style></head>
<body><div id="cookie">We use cookies. <button>Accept</button></div>
<header><nav><ul>{links(80)}</ul></nav></header>
<main><article><h1>{html.escape(title)}</h1><p class="byline">By staff</p>{paras}</article>
<aside><h2>Most read</h2><ul>{links(15)}</ul></aside><section id="comments">{comments}</section></main>
<footer><ul>{links(60)}</ul><p>Copyright The Daily. All rights reserved.</p></footer>
<script>{"track('view');" * 300}</script></body></html>"""


def corpus_texts(path: Path, n: int) -> list[tuple[str, str]]:
    """Titles and texts of a labelled corpus (read at run time, never kept in the repository)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [((r.get("title") or r["text"][:80]).strip(), r["text"]) for r in rows[:n]]


WARMUP_PAGES = 20


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
            AGGREGATOR_HOST_GAP_S="0", AGGREGATOR_HOST_CONCURRENCY="0", AGGREGATOR_DATA_DIR=tmp,
            AGGREGATOR_FEEDS_FILE="/dev/null", AGGREGATOR_PORT=str(free_port()),
        )  # fmt: skip
        up = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "up", f"--concurrency={processes}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        settings = get_settings(
            redis_url=redis_server.url, allow_private_hosts=True, host_gap_s=0, host_concurrency=0
        )
        wiring = Wiring(settings, celery_client(redis_server.url))
        try:
            _wait_for_workers(wiring)
            # Every worker process loads its parsers and models on its first pages: a warm-up feed
            # first, as extraction alone is warmed up before it is timed.
            wiring.feeds.add(f"{site_base}/wire/warmup.xml")
            warm = {article_id(f"{site_base}/wire/warmup-{i}.html") for i in range(WARMUP_PAGES)}
            while warm - wiring.articles.clustered(sorted(warm)):
                time.sleep(0.05)
            warm_count = _clustered_count(wiring)
            started = time.perf_counter()
            for f in range(feeds):
                wiring.feeds.add(f"{site_base}/wire/feed{f}.xml")
            ids = [
                article_id(f"{site_base}/wire/{f}-{i}.html") for f in range(feeds) for i in range(per_feed)
            ]
            left = set(ids)
            own = time.process_time()
            before, machine = cpu_by_process(), psutil.cpu_times()
            wiring.redis.config_resetstat()
            while left and time.perf_counter() - started < 900:
                # The service's own count first, each article's state once the count says all are in:
                # asking after every article every time would load Redis and this process.
                if _clustered_count(wiring) >= warm_count + len(ids):
                    left -= wiring.articles.clustered(sorted(left))
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            print(
                f"  the site and this process used {(time.process_time() - own) / elapsed:.0%} of a core",
                flush=True,
            )
            report_cpu(before, cpu_by_process(), len(ids))
            report_idle(machine, psutil.cpu_times())
            _report_redis(wiring.redis.info("commandstats"), len(ids))
            assert not left, f"{len(left)} articles not clustered"
            return len(ids) / elapsed
        finally:
            up.terminate()
            up.wait(60)
            wiring.close()


def _clustered_count(wiring: Wiring) -> float:
    return sum(v for name, _, v in wiring.metrics.counters() if name == "articles_clustered")


def _report_redis(stats: dict[str, Any], n: int) -> None:
    """Redis's own time by command in the timed window, in milliseconds an article."""
    spent = sorted(
        ((v["usec"], k.removeprefix("cmdstat_"), v["calls"]) for k, v in stats.items()), reverse=True
    )
    shown = ", ".join(f"{c} {u / 1000 / n:.2f} ({calls / n:.1f} calls)" for u, c, calls in spent[:8])
    print(f"  Redis ms an article: {shown}; all {sum(u for u, _, _ in spent) / 1000 / n:.2f}", flush=True)


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
    ap.add_argument("--corpus", type=Path, help="a labelled corpus (JSON Lines) whose texts the pages carry")
    args = ap.parse_args()
    rng = random.Random(7)
    site = StaticSite()
    total = args.feeds * args.per_feed
    texts = corpus_texts(args.corpus, total) if args.corpus else [article_text(rng, n) for n in range(total)]
    titles = [t for t, _ in texts]
    pages = []
    for f in range(args.feeds):
        items = []
        for i in range(args.per_feed):
            title, body = texts[(f * args.per_feed + i) % len(texts)]
            doc = news_page(title, body, titles, rng) if args.corpus else page("wire", title, body)
            site.set(f"/wire/{f}-{i}.html", doc)
            pages.append((doc.encode(), f"{site.base}/wire/{f}-{i}.html"))
            items.append((f"{f}-{i}", title, body[:100]))
        site.set(f"/wire/feed{f}.xml", rss(site.base, "wire", items, 1.7e9), ctype="application/rss+xml")
    warmup = []
    for i in range(WARMUP_PAGES):
        title, body = article_text(rng, total + i)
        site.set(f"/wire/warmup-{i}.html", page("wire", title, body))
        warmup.append((f"warmup-{i}", title, body[:100]))
    site.set("/wire/warmup.xml", rss(site.base, "wire", warmup, 1.7e9), ctype="application/rss+xml")
    median_kb = sorted(len(p) for p, _ in pages)[len(pages) // 2] // 1024
    ratios: list[float] = []
    try:
        for r in range(args.rounds):
            # Extraction alone just before and just after the end-to-end run, against their mean: the
            # machine's speed drifts over a minute by more than the differences measured.
            defaults = extraction_only(pages, args.processes, _trafilatura_defaults)
            before = extraction_only(pages, args.processes, _service_options)
            e2e = end_to_end(site.base, args.feeds, args.per_feed, args.processes)
            after = extraction_only(pages, args.processes, _service_options)
            service = (before + after) / 2
            ratios.append(e2e / service)
            print(
                f"round {r + 1}: {len(pages)} pages (median {median_kb} KB), "
                f"{args.processes} processes: "
                f"end to end {e2e:.0f} articles/s; "
                f"extraction alone {service:.0f} pages/s with the service's options ({e2e / service:.0%}; "
                f"{before:.0f} before, {after:.0f} after), "
                f"{defaults:.0f} pages/s with trafilatura's defaults ({e2e / defaults:.0%})",
                flush=True,
            )
        if len(ratios) > 1:
            # One round swings with the machine's speed: the median of several is the figure to quote.
            print(
                f"ratio over {len(ratios)} rounds: {min(ratios):.0%}-{max(ratios):.0%}, "
                f"median {statistics.median(ratios):.1%}",
                flush=True,
            )
    finally:
        site.shutdown()


if __name__ == "__main__":
    main()
