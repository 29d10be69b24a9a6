"""Many feeds on shared hosts, as a user runs the service (`aggregator up`, defaults, politeness on).

    python -m tests.benchmarks.bench_feeds --feeds 1000 --hosts 20 --items 2 [--no-hang]

Starts its own redis-server, `hosts` local news sites (each its own origin: 127.0.0.1 on its own port)
sharing `feeds` feeds of `items` made-up articles each (every fifth a retitled copy of the one before),
one more site whose article pages hang (unless --no-hang), one feed with poison items among good ones,
and a webhook receiver; then `aggregator up` with only the settings a local run needs (its Redis, no
feeds file, private hosts allowed). Adds every feed and the webhook through the API, adds one more feed
on a new site mid-run, and waits until every good article is clustered and the queues are empty.

Prints: the time to ingest everything; the most fetches of one feed and the shortest time between two
fetches of one feed (the poll interval is 300 s: a feed queued twice shows as a short gap); how long the
mid-run feed waited for its first fetch; webhook delivery latency (event time to arrival); per site, the
time from a page being served to its article's event, and when the site's last article came; the poison
feed's stored and skipped items.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from aggregator.core.identity import article_id
from aggregator.core.timestamps import seconds
from aggregator.devserver import embedded, free_port
from aggregator.settings import get_settings
from aggregator.wiring import Wiring
from tests.benchmarks.bench_load import texts
from tests.fixtures.site import Site, page, rss, serve

HANG_S = 90.0  # longer than the service's 30 s deadline per response

Served = dict[str, float]  # url -> when its page was first served


def _timed(site: Site, path: str, body: str, served: Served) -> None:
    data = body.encode()
    url = site.base + path

    def answer(_: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        served.setdefault(url, time.time())
        return 200, {"Content-Type": "text/html; charset=utf-8"}, data

    site.routes[path] = answer


def _feed_route(site: Site, path: str, xml: str, fetches: dict[str, list[float]]) -> None:
    data = xml.encode()
    url = site.base + path

    def answer(_: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        fetches[url].append(time.time())
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, data

    site.routes[path] = answer


def publish(sites: list[Site], feeds: int, items: int, served: Served,
            fetches: dict[str, list[float]]) -> tuple[list[str], dict[str, str]]:  # fmt: skip
    """Feeds spread over the sites round-robin, each article's page on its feed's site. Returns the
    feed URLs and article id -> its site's base."""
    stream = texts()
    now = time.time()
    urls, good = [], {}
    for f in range(feeds):
        site = sites[f % len(sites)]
        entries = []
        for i in range(items):
            title, body = next(stream)
            slug = f"{f}-{i}"
            _timed(site, f"/wire/{slug}.html", page("wire", title, body), served)
            entries.append((slug, title, body[:100]))
            good[article_id(f"{site.base}/wire/{slug}.html")] = site.base
        _feed_route(site, f"/wire/feed{f}.xml", rss(site.base, "wire", entries, now - 3600), fetches)
        urls.append(f"{site.base}/wire/feed{f}.xml")
    return urls, good


def publish_poison(site: Site, served: Served, fetches: dict[str, list[float]]) -> tuple[str, list[str]]:
    """A feed of three good items and four that no fetch can take."""
    stream = texts(seed=99)
    good, items = [], []
    for i in range(3):
        title, body = next(stream)
        path = f"/poison/{i}.html"
        _timed(site, path, page("wire", title, body), served)
        good.append(article_id(site.base + path))
        items.append((title, site.base + path))
    items += [
        ("Long label", f"http://{'a' * 64}.example/story"),
        ("Bad port", "http://127.0.0.1:99999/story"),
        ("Broken IPv6", "http://[::1/story"),
        ("Script", "javascript:alert(1)"),
    ]
    body = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        f"<pubDate>{formatdate(time.time() - 600, usegmt=True)}</pubDate></item>"
        for t, u in items
    )
    xml = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Poison</title>{body}</channel></rss>'
    _feed_route(site, "/poison/feed.xml", xml, fetches)
    return site.base + "/poison/feed.xml", good


def publish_hanging(site: Site, items: int, fetches: dict[str, list[float]]) -> tuple[str, list[str]]:
    """A feed whose article pages never answer."""
    stream = texts(seed=123)
    entries, ids = [], []
    for i in range(items):
        title, body = next(stream)
        slug = f"hang-{i}"

        def hang(_: BaseHTTPRequestHandler) -> None:
            time.sleep(HANG_S)
            return None

        site.routes[f"/wire/{slug}.html"] = hang
        entries.append((slug, title, body[:300]))
        ids.append(article_id(f"{site.base}/wire/{slug}.html"))
    _feed_route(site, "/wire/feed.xml", rss(site.base, "wire", entries, time.time() - 3600), fetches)
    return site.base + "/wire/feed.xml", ids


class Receiver:
    """A webhook receiver on loopback: the arrival time and body of every delivery."""

    def __init__(self) -> None:
        self.got: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.got.append((time.time(), body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--items", type=int, default=2)
    ap.add_argument("--no-hang", dest="hang", action="store_false", help="leave the hanging site out")
    ap.add_argument("--timeout", type=float, default=1800.0)
    a = ap.parse_args()

    served: Served = {}
    fetches: dict[str, list[float]] = defaultdict(list)
    sites = [serve()[0] for _ in range(a.hosts)]
    feed_urls, good = publish(sites, a.feeds, a.items, served, fetches)
    poison_url, poison_good = publish_poison(sites[0], served, fetches)
    good.update({aid: sites[0].base for aid in poison_good})
    hang_url, hang_ids = publish_hanging(serve()[0], 6, fetches) if a.hang else ("", [])
    late_site = serve()[0]
    late_urls, late_good = publish([late_site], 1, 1, served, fetches)
    good.update(late_good)
    receiver = Receiver()

    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp) / "redis") as redis_server:
        port = free_port()
        env = dict(
            os.environ, AGGREGATOR_REDIS_URL=redis_server.url, AGGREGATOR_ALLOW_PRIVATE_HOSTS="true",
            AGGREGATOR_PORT=str(port), AGGREGATOR_DATA_DIR=tmp, AGGREGATOR_FEEDS_FILE="/dev/null",
        )  # fmt: skip
        log = open(Path(tmp) / "service.log", "w")  # noqa: SIM115 (closed with the service)
        up = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "up"], env=env, stdout=log, stderr=log)
        wiring = Wiring(get_settings(redis_url=redis_server.url))
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if api.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the API did not come up")
                time.sleep(0.2)
            assert (
                api.post("/v1/subscriptions", json={"url": receiver.url, "secret": "s" * 16}).status_code
                == 201
            )
            started = time.time()
            for url in [*feed_urls, poison_url, *([hang_url] if hang_url else [])]:
                assert api.post("/v1/feeds", json={"url": url}).status_code == 201
            added = time.time() - started
            print(f"{len(feed_urls) + 2} feeds added through the API in {added:.1f} s", flush=True)
            late_added = None
            left = set(good) - set(late_good)
            while time.time() - started < a.timeout:
                time.sleep(1.0)
                if late_added is None and time.time() - started > 20:
                    late_added = time.time()
                    assert api.post("/v1/feeds", json={"url": late_urls[0]}).status_code == 201
                    left |= set(late_good)
                left -= wiring.articles.clustered(sorted(left))
                status = api.get("/v1/status").json()
                if not left and not any(status["queues"].values()) and not status["articles"]["pending"]:
                    break
                if int(time.time() - started) % 15 == 0:
                    done, pending = len(good) - len(left), status["articles"]["pending"]
                    print(f"  {time.time() - started:5.0f} s: {done}/{len(good)} articles, "
                          f"queues {status['queues']}, pending {pending}", flush=True)  # fmt: skip
            took = time.time() - started
            events = int(wiring.redis.xlen(wiring.keys.events))
            deadline = time.monotonic() + 60
            while len(receiver.got) < events and time.monotonic() < deadline:
                time.sleep(0.5)  # the last deliveries
            status = api.get("/v1/status").json()
            poison = _find_feed(api, poison_url)
            clustered_at = _clustered_at(wiring, [*good, *hang_ids])
        finally:
            api.close()
            up.terminate()
            up.wait(60)
            log.close()
            wiring.close()

    print(f"ingested {len(good) - len(left)} of {len(good)} good articles in {took:.0f} s "
          f"({(len(good) - len(left)) / took:.1f}/s); queues at the end {status['queues']}, "
          f"pending {status['articles']['pending']}, "
          f"extracted {status['articles']['extracted']}")  # fmt: skip
    counts = [len(v) for v in fetches.values()]
    gaps = [b - x for v in fetches.values() for x, b in zip(v, v[1:], strict=False)]
    print(f"feed fetches: at most {max(counts)} of one feed; shortest gap between two fetches of one feed "
          f"{min(gaps):.0f} s" if gaps else f"feed fetches: at most {max(counts)} of one feed")  # fmt: skip
    if late_added is not None and fetches.get(late_urls[0]):
        print(
            f"feed added mid-run: first fetched {fetches[late_urls[0]][0] - late_added:.1f} s after its POST"
        )
    lat = [t - seconds(body["time"]) for t, body in receiver.got]
    print(f"webhooks: {len(lat)} deliveries of {events} events, latency p50 {statistics.median(lat):.2f} s, "
          f"p99 {_pct(lat, 0.99):.2f} s, max {max(lat):.2f} s" if lat else "webhooks: none")  # fmt: skip
    by_site: dict[str, list[float]] = defaultdict(list)
    last: dict[str, float] = {}
    urls = {article_id(u): u for u in served}
    for aid, base in good.items():
        if aid in clustered_at and urls.get(aid) in served:
            by_site[base].append(clustered_at[aid] - served[urls[aid]])
            last[base] = max(last.get(base, 0.0), clustered_at[aid] - started)
    waits = [x for v in by_site.values() for x in v]
    print(f"page served -> clustered, all sites: p50 {statistics.median(waits):.1f} s, "
          f"p99 {_pct(waits, 0.99):.1f} s, max {max(waits):.1f} s")  # fmt: skip
    ends = sorted(last.values())
    print(f"each site's last article clustered at {ends[0]:.0f}-{ends[-1]:.0f} s (median "
          f"{statistics.median(ends):.0f} s)")  # fmt: skip
    if hang_ids:
        hung = [clustered_at[i] - started for i in hang_ids if i in clustered_at]
        print(f"hanging site: {len(hung)} of {len(hang_ids)} articles clustered on their feed summary, "
              f"the last at {max(hung, default=float('nan')):.0f} s")  # fmt: skip
    if poison:
        skipped = [(s["link"][:30], s["reason"][:60]) for s in poison["skipped"]]
        stored = sum(1 for i in poison_good if i in clustered_at)
        print(f"poison feed: {stored} of {len(poison_good)} good items clustered; skipped: {skipped}")


def _clustered_at(wiring: Wiring, aids: list[str]) -> dict[str, float]:
    """When each article joined its story (its score in the story's variants)."""
    stories = wiring.views.story_ids(aids)
    pipe = wiring.redis.pipeline(transaction=False)
    for aid, sid in stories.items():
        pipe.zscore(wiring.keys.story_variants(sid), aid)
    return {aid: float(t) for aid, t in zip(stories, pipe.execute(), strict=True) if t is not None}


def _find_feed(api: httpx.Client, url: str) -> dict[str, Any] | None:
    cursor = None
    while True:
        page_ = api.get("/v1/feeds", params={"limit": 500, **({"cursor": cursor} if cursor else {})}).json()
        for f in page_["items"]:
            if f["url"] == url:
                return dict(f)
        cursor = page_["next_cursor"]
        if not cursor:
            return None


if __name__ == "__main__":
    main()
