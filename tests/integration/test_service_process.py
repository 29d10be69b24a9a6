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
        # A session of its own, as a terminal would run it: Ctrl-C reaches its whole process group.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "up"], env=self.env, start_new_session=True
        )
        wait_for(self._ready, timeout=60, interval=0.25)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def children(self) -> dict[str, int]:
        """The service's child processes: their pid by what they run (their command line)."""
        assert self.proc is not None
        pids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return {Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "): int(pid) for pid in pids}

    def stop(self, whole_group: bool = False) -> int:
        assert self.proc is not None
        if whole_group:  # what Ctrl-C in a terminal does: every process of the group gets SIGINT
            os.killpg(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(60)
        self.proc = None
        return code


@pytest.fixture
def service(service_env: dict[str, str]) -> Iterator[Service]:
    svc = Service(service_env)
    yield svc
    if svc.proc is not None:
        os.killpg(svc.proc.pid, signal.SIGKILL)
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
    _assert_page_workers_pinned(service)
    assert service.stop() == 0

    service.start()
    assert sorted(map(str, _stories(service.base))) == sorted(map(str, stories))
    assert len(httpx.get(f"{service.base}/v1/feeds", timeout=5).json()["items"]) == 4
    assert service.stop() == 0


def _assert_page_workers_pinned(service: Service) -> None:
    """One page worker per core, each with every thread on a core of its own (when the machine lets this
    process use all its cores)."""
    pages = [pid for cmd, pid in service.children().items() if "hostname=pages" in cmd]
    assert len(pages) == os.cpu_count()
    if len(os.sched_getaffinity(0)) < len(pages):
        return
    cpus = []
    for pid in pages:
        threads = {
            os.sched_getaffinity(int(t.name)) == os.sched_getaffinity(pid)
            for t in Path(f"/proc/{pid}/task").iterdir()
        }
        assert threads == {True}
        cpus.append(os.sched_getaffinity(pid))
    assert all(len(c) == 1 for c in cpus) and len(set().union(*cpus)) == len(pages)


def test_a_dead_child_is_started_again_and_the_api_stays_up(service: Service) -> None:
    service.start()
    clustering = next(pid for cmd, pid in service.children().items() if "hostname=clustering" in cmd)
    redis_pid = next(pid for cmd, pid in service.children().items() if "redis-server" in cmd)
    os.kill(clustering, signal.SIGKILL)
    for _ in range(10):  # the API answers all along
        assert httpx.get(f"{service.base}/healthz", timeout=2).status_code == 200
    again = wait_for(
        lambda: next((pid for cmd, pid in service.children().items() if "hostname=clustering" in cmd), None),
        timeout=30,
    )
    assert again != clustering
    # Ctrl-C: the children stop, then Redis, and the service says all went well.
    assert service.stop(whole_group=True) == 0
    assert (
        not Path(f"/proc/{redis_pid}").exists() or "zombie" in Path(f"/proc/{redis_pid}/status").read_text()
    )
