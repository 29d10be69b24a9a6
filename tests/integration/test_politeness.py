"""Per-host politeness holds across workers: two workers sharing one Redis never exceed the limits."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any

from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.fixtures.site import Site


def test_concurrency_and_gap_per_host_across_workers(site: Site, settings: Settings) -> None:
    lock = threading.Lock()
    state: dict[str, Any] = {"inflight": 0, "peak": 0, "starts": []}

    def slow(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        with lock:
            state["inflight"] += 1
            state["peak"] = max(state["peak"], state["inflight"])
            state["starts"].append(time.monotonic())
        time.sleep(0.3)
        with lock:
            state["inflight"] -= 1
        return 200, {"Content-Type": "text/plain"}, b"ok"

    site.routes["/slow"] = slow
    polite = settings.model_copy(update={"host_concurrency": 2, "host_gap_s": 0.2})
    workers = [Wiring(polite) for _ in range(2)]
    try:
        jobs = [workers[i % 2] for i in range(8)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda w: w.fetcher.get(f"{site.base}/slow", 1000), jobs))
    finally:
        for w in workers:
            w.close()
    starts = sorted(state["starts"])
    assert len(starts) == 8
    assert state["peak"] <= 2
    # Measured where requests arrive: scheduling jitter of a few tens of ms is allowed for.
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 0.15
