"""Read load while ingest runs: a paced loop of `GET /v1/stories/{id}` against the API, with a worker
ingesting a local site's feeds at the same time.

    python -m tests.benchmarks.bench_load --articles 50000 --rps 100

Starts its own redis-server, fixture site, `aggregator api` and `aggregator worker` on loopback. Every
fifth article is a retitled copy of the one before it, so stories grow variants as the run goes. Prints,
per window of ingested articles, the requests per second served, p50/p99 latency and errors, and at the
end the worker's memory (its whole process tree) and Redis's.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

from aggregator.core.identity import article_id
from aggregator.devserver import embedded, free_port
from aggregator.dispatch import celery_client
from aggregator.settings import get_settings
from aggregator.wiring import Wiring
from tests.benchmarks.memory import tree_rss_mib
from tests.fixtures.site import Site, page, rss, serve


@dataclass
class Window:
    articles: int
    seconds: float
    latencies: list[float]
    errors: int

    def line(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        return (
            f"{self.articles:>7} articles  {len(self.latencies) / self.seconds:6.1f} req/s  "
            f"p50 {p50:6.1f} ms  p99 {p99:7.1f} ms  errors {self.errors}"
        )


@dataclass
class LoadReport:
    articles: int = 0
    seconds: float = 0.0
    windows: list[Window] = field(default_factory=list)
    worker_rss_mib: float = 0.0
    redis_mib: float = 0.0
    stories: int = 0

    @property
    def requests(self) -> int:
        return sum(len(w.latencies) for w in self.windows)

    @property
    def errors(self) -> int:
        return sum(w.errors for w in self.windows)


_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ar", "en", "ol")]


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    """Made-up words: a newsroom's vocabulary without copying anyone's text."""
    words = {"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
    vocab = sorted(words)[:size]
    rng.shuffle(vocab)  # ranks (and so frequencies) fall on words at random
    return vocab


def article_text(rng: random.Random, vocab: list[str], cum: list[float]) -> tuple[str, str]:
    """A title and two paragraphs of Zipf-distributed words around four names of its own."""
    names = [rng.choice(vocab).title() for _ in range(4)]
    paras = []
    for _ in range(2):
        sentences = []
        for _ in range(6):
            words = rng.choices(vocab, cum_weights=cum, k=rng.randint(12, 22)) + rng.sample(names, 2)
            rng.shuffle(words)
            sentence = " ".join(words)
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
        paras.append(" ".join(sentences))
    title = " ".join([names[0], *rng.choices(vocab, cum_weights=cum, k=6), names[1]])
    return title, "\n\n".join(paras)


def texts(seed: int = 7) -> Iterator[tuple[str, str]]:
    """An endless stream of (title, body): every fifth a retitled copy of the one before it."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    cum = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))  # Zipf
    title, body = "", ""
    for n in itertools.count():
        if n % 5 == 4:
            title = f"Update: {title}"
        else:
            title, body = article_text(rng, vocab, cum)
        yield title, body


def publish(site: Site, articles: int, feeds: int, seed: int = 7) -> list[str]:
    """`articles` pages spread over `feeds` feeds; returns the article ids."""
    stream = texts(seed)
    now = time.time()
    per_feed = -(-articles // feeds)
    ids: list[str] = []
    for f in range(feeds):
        items = []
        for i in range(min(per_feed, articles - f * per_feed)):
            title, body = next(stream)
            slug = f"{f}-{i}"
            site.set(f"/wire/{slug}.html", page("wire", title, body))  # where rss() links
            items.append((slug, title, body[:100]))
            ids.append(article_id(f"{site.base}/wire/{slug}.html"))
        site.set(f"/load/feed{f}.xml", rss(site.base, "wire", items, now - 3600), ctype="application/rss+xml")
    return ids


class Reads:
    """`clients` threads, each paced to `rps / clients` requests a second, reading random known stories."""

    def __init__(self, base: str, rps: float, clients: int) -> None:
        self.base, self.interval, self.clients = base, clients / rps, clients
        self.ids: list[str] = []
        self.latencies: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def take(self) -> tuple[list[float], int]:
        with self.lock:
            got, errors = self.latencies, self.errors
            self.latencies, self.errors = [], 0
        return got, errors

    def refresh_ids(self, http: httpx.Client) -> None:
        resp = http.get("/v1/stories", params={"limit": 200})
        if resp.status_code == 200:
            self.ids = [s["id"] for s in resp.json()["items"]] or self.ids

    def run(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.base, timeout=10) as http:
            next_at = time.perf_counter()
            while not self.stop.is_set():
                if not self.ids or rng.random() < 0.01:
                    self.refresh_ids(http)  # not counted: the story list is not what is measured
                    if not self.ids:
                        time.sleep(0.1)
                        continue
                started = time.perf_counter()
                try:
                    ok = http.get(f"/v1/stories/{rng.choice(self.ids)}").status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - started
                with self.lock:
                    self.latencies.append(took)
                    self.errors += not ok
                next_at = max(next_at + self.interval, time.perf_counter() - self.interval)
                self.stop.wait(max(0.0, next_at - time.perf_counter()))

    @contextmanager
    def running(self) -> Iterator[None]:
        threads = [threading.Thread(target=self.run, args=(k,), daemon=True) for k in range(self.clients)]
        for t in threads:
            t.start()
        try:
            yield
        finally:
            self.stop.set()
            for t in threads:
                t.join(15)


def _serve_reads(base: str, rps: float, clients: int, conn: Connection) -> None:
    reads = Reads(base, rps, clients)
    with reads.running():
        while conn.recv() == "take":
            conn.send(reads.take())


class Reader:
    """`Reads` in a process of its own, so the benchmark's own work does not slow the clients down."""

    def __init__(self, base: str, rps: float, clients: int) -> None:
        self.base = base
        self.conn, child = multiprocessing.Pipe()
        ctx = multiprocessing.get_context("spawn")
        self.proc = ctx.Process(target=_serve_reads, args=(base, rps, clients, child), daemon=True)

    def take(self) -> tuple[list[float], int]:
        self.conn.send("take")
        got: tuple[list[float], int] = self.conn.recv()
        return got

    @contextmanager
    def running(self) -> Iterator[None]:
        self.proc.start()
        try:
            yield
        finally:
            self.conn.send("stop")
            self.proc.join(30)


def run_load(articles: int, feeds: int, rps: float, clients: int, concurrency: int, windows: int,
             timeout_s: float) -> LoadReport:  # fmt: skip
    site, server = serve()
    ids = publish(site, articles, feeds)
    report = LoadReport()
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as redis_server:
        port = free_port()
        # One loopback host serves every outlet here: per-host politeness would measure itself.
        env = dict(
            os.environ, AGGREGATOR_REDIS_URL=redis_server.url, AGGREGATOR_ALLOW_PRIVATE_HOSTS="true",
            AGGREGATOR_HOST_GAP_S="0", AGGREGATOR_HOST_CONCURRENCY="64", AGGREGATOR_PORT=str(port),
            AGGREGATOR_DATA_DIR=tmp,
        )  # fmt: skip
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        cli = [sys.executable, "-m", "aggregator.cli"]
        api = subprocess.Popen([*cli, "api"], **quiet)  # type: ignore[call-overload]
        worker = subprocess.Popen([*cli, "worker", f"--concurrency={concurrency}"], **quiet)  # type: ignore[call-overload]
        settings = get_settings(redis_url=redis_server.url, allow_private_hosts=True)
        wiring = Wiring(settings, celery_client(redis_server.url))
        reader = Reader(f"http://127.0.0.1:{port}", rps, clients)
        try:
            _wait_ready(reader.base)
            step = max(1, articles // windows)
            with reader.running():
                started = last = time.perf_counter()
                for f in range(feeds):
                    wiring.feeds.add(f"{site.base}/load/feed{f}.xml")
                mark, left, done = step, ids, 0
                while time.perf_counter() - started < timeout_s:
                    time.sleep(1.0)
                    # Only what is not yet clustered is asked about, so polling gets cheaper as it goes.
                    finished = wiring.articles.clustered(left)
                    left = [i for i in left if i not in finished]
                    done = articles - len(left)
                    if done >= min(mark, articles):
                        now = time.perf_counter()
                        report.windows.append(Window(done, now - last, *reader.take()))
                        print(report.windows[-1].line(), flush=True)
                        last, mark = now, (done // step + 1) * step
                    if done >= articles:
                        break
                report.articles = done
                report.seconds = time.perf_counter() - started
            report.worker_rss_mib = tree_rss_mib(worker.pid)
            report.redis_mib = int(wiring.redis.info("memory")["used_memory"]) / 2**20
            report.stories = int(wiring.redis.zcard(wiring.keys.stories_updated))
        finally:
            for proc in (worker, api):
                proc.terminate()
                proc.wait(30)
            wiring.close()
            server.shutdown()
    return report


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not become ready")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--feeds", type=int, default=100)
    ap.add_argument("--rps", type=float, default=100.0, help="target request rate, all clients together")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=2, help="worker processes")
    ap.add_argument("--windows", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=3600.0)
    a = ap.parse_args()
    r = run_load(a.articles, a.feeds, a.rps, a.clients, a.concurrency, a.windows, a.timeout)
    all_lat = [x for w in r.windows for x in w.latencies]
    print(Window(r.articles, r.seconds, all_lat, r.errors).line().replace("articles", "articles, all", 1))
    print(
        f"{r.articles} articles in {r.seconds:.0f} s ({r.articles / r.seconds:.0f}/s), {r.stories} stories; "
        f"{r.requests} requests, {r.errors} errors; worker RSS {r.worker_rss_mib:.0f} MiB "
        f"(process tree), Redis used_memory {r.redis_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
