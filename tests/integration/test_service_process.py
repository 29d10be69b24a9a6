"""`aggregator up` as a user runs it: embedded Redis, API, worker and beat as real processes.
Stories survive a restart because the embedded Redis keeps an append-only file under the data dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aggregator.devserver import free_port
from tests.conftest import wait_for
from tests.fixtures.site import Site
from tests.fixtures.stories import OUTLETS


@pytest.fixture
def service_env(tmp_path: Path) -> dict[str, str]:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    env.update(
        AGGREGATOR_DATA_DIR=str(tmp_path / "data"),
        AGGREGATOR_PORT=str(free_port()),
        AGGREGATOR_FEEDS_FILE=str(feeds),
        AGGREGATOR_ALLOW_PRIVATE_HOSTS="true",
        AGGREGATOR_SCHEDULE_TICK_S="1",
    )
    return env


class Service:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.base = f"http://127.0.0.1:{env['AGGREGATOR_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "up"], env=self.env)
        wait_for(self._ready, timeout=60, interval=0.25)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = self.proc.wait(60)
        self.proc = None
        return code


@pytest.fixture
def service(service_env: dict[str, str]) -> Iterator[Service]:
    svc = Service(service_env)
    yield svc
    if svc.proc is not None:
        svc.proc.kill()
        svc.proc.wait()


def _stories(base: str) -> list[dict[str, object]]:
    return list(httpx.get(f"{base}/v1/stories", timeout=5).json()["items"])


def test_up_serves_stories_and_a_restart_keeps_them(service: Service, site: Site) -> None:
    site.publish_news()
    service.start()
    for outlet in OUTLETS:
        resp = httpx.post(f"{service.base}/v1/feeds", json={"url": site.feed_url(outlet)}, timeout=5)
        assert resp.status_code == 201
    stories = wait_for(
        lambda: (s := _stories(service.base)) and sum(int(x["variant_count"]) for x in s) == 8 and s,  # type: ignore[call-overload]
        timeout=60,
    )
    assert sorted(int(s["variant_count"]) for s in stories) == [1, 1, 1, 1, 4]  # type: ignore[call-overload]
    assert service.stop() == 0

    service.start()
    assert sorted(map(str, _stories(service.base))) == sorted(map(str, stories))
    assert len(httpx.get(f"{service.base}/v1/feeds", timeout=5).json()["items"]) == 4
    assert service.stop() == 0
