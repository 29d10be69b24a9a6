"""Per-host politeness holds across workers: two workers sharing one Redis never exceed the limits."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from aggregator.errors import HostBusy
from aggregator.ingest.fetch import origin
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import wait_for
from tests.fixtures.site import Site, serve


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
    # Each fetch may wait its turn here, so all eight go through the gate one after another.
    polite = settings.model_copy(update={"host_concurrency": 2, "host_gap_s": 0.2, "host_wait_s": 10})
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


def test_fetches_put_off_get_turns_one_after_another(site: Site, settings: Settings) -> None:
    """By default a fetch never waits: one that cannot go now is told its turn, after the turns already
    handed out, so what was put off comes back spread out rather than all at once."""
    site.routes["/page"] = (200, {"Content-Type": "text/plain"}, b"ok")
    polite = settings.model_copy(update={"host_concurrency": 2, "host_gap_s": 0.5})
    assert polite.host_wait_s == 0
    wiring = Wiring(polite)
    try:
        assert wiring.fetcher.get(f"{site.base}/page", 1000).body == b"ok"  # type: ignore[union-attr]
        turns = []
        for _ in range(4):
            with pytest.raises(HostBusy) as busy:
                wiring.fetcher.get(f"{site.base}/page", 1000)
            turns.append(busy.value.retry_after_s or 0.0)
        assert site.count("/page") == 1
        assert 0 < turns[0] <= 0.5 and all(
            0.45 <= b - a <= 0.55 for a, b in zip(turns, turns[1:], strict=False)
        )
    finally:
        wiring.close()


def _hanging(release: threading.Event) -> Any:
    def handler(_: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        release.wait(10)
        return 200, {"Content-Type": "text/plain"}, b"late"

    return handler


def test_a_fetch_whose_host_is_busy_does_not_hold_its_worker(site: Site, settings: Settings) -> None:
    release = threading.Event()
    site.routes["/hang"] = _hanging(release)
    site.routes["/quick"] = (200, {"Content-Type": "text/plain"}, b"ok")
    polite = settings.model_copy(update={"host_concurrency": 1, "host_gap_s": 0.0, "host_wait_s": 0.3})
    wiring = Wiring(polite)
    try:
        with ThreadPoolExecutor(1) as pool:
            hung = pool.submit(wiring.fetcher.get, f"{site.base}/hang", 1000)
            wait_for(lambda: site.count("/hang") == 1)
            started = time.monotonic()
            with pytest.raises(HostBusy) as busy:
                wiring.fetcher.get(f"{site.base}/quick", 1000)
            assert time.monotonic() - started < 1.0 and (busy.value.retry_after_s or 0) > 0
            # Another port of the same host is another origin, with a budget of its own.
            other, server = serve()
            try:
                other.routes["/quick"] = (200, {"Content-Type": "text/plain"}, b"ok")
                assert wiring.fetcher.get(f"{other.base}/quick", 1000).body == b"ok"  # type: ignore[union-attr]
            finally:
                server.shutdown()
            release.set()
            hung.result(10)
    finally:
        wiring.close()


def test_a_slow_host_lowers_its_own_concurrency_only(site: Site, settings: Settings) -> None:
    site.routes["/slow"] = lambda _: (time.sleep(0.3), (200, {"Content-Type": "text/plain"}, b"ok"))[1]
    site.routes["/quick"] = (200, {"Content-Type": "text/plain"}, b"ok")
    polite = settings.model_copy(update={"host_concurrency": 8, "host_gap_s": 0.0, "host_slow_s": 0.2})
    wiring = Wiring(polite)
    try:
        other, server = serve()
        try:
            other.routes["/quick"] = (200, {"Content-Type": "text/plain"}, b"ok")
            for _ in range(2):
                wiring.fetcher.get(f"{site.base}/slow", 1000)
                wiring.fetcher.get(f"{other.base}/quick", 1000)
            # The fetches' gate keeps its state under "fetch:" (webhook deliveries have their own).
            slow_origin, quick_origin = (
                f"fetch:{origin(u)}" for u in (f"{site.base}/slow", f"{other.base}/quick")
            )
            assert wiring.redis.get(wiring.keys.host_limit(slow_origin)) == "2"  # 8 -> 4 -> 2
            assert not wiring.redis.exists(wiring.keys.host_limit(quick_origin))  # still the full 8
            for _ in range(3):  # good answers bring it back, one at a time
                wiring.fetcher.get(f"{site.base}/quick", 1000)
            assert wiring.redis.get(wiring.keys.host_limit(slow_origin)) == "5"
        finally:
            server.shutdown()
    finally:
        wiring.close()


def test_a_far_turn_is_asked_for_again_within_the_task_timeout(site: Site, settings: Settings) -> None:
    site.routes["/page"] = (200, {"Content-Type": "text/plain"}, b"ok")
    wiring = Wiring(settings.model_copy(update={"host_concurrency": 1, "host_gap_s": 200.0}))
    try:
        wiring.fetcher.get(f"{site.base}/page", 1000)
        waits = []
        for _ in range(2):
            with pytest.raises(HostBusy) as busy:
                wiring.fetcher.get(f"{site.base}/page", 1000)
            waits.append(busy.value.retry_after_s)
        assert 190 < (waits[0] or 0) <= 200 and waits[1] == 300.0  # its turn is at 400 s: ask at 300
    finally:
        wiring.close()


def test_politeness_off_asks_no_gate(site: Site, settings: Settings) -> None:
    site.routes["/page"] = (200, {"Content-Type": "text/plain"}, b"ok")
    wiring = Wiring(settings.model_copy(update={"host_concurrency": 0, "host_gap_s": 200.0}))
    try:
        for _ in range(3):  # with any gate, a gap of 200 s would put the second off
            wiring.fetcher.get(f"{site.base}/page", 1000)
        assert site.count("/page") == 3
        assert not list(wiring.redis.scan_iter(match=f"{settings.key_prefix}:host:*"))
    finally:
        wiring.close()
