"""Celery's broker on RabbitMQ (AGGREGATOR_BROKER_URL=amqp://...), the store on Redis: a private
RabbitMQ node started for the test on loopback. Skipped, saying why, where rabbitmq-server is absent."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.devserver import free_port
from aggregator.dispatch import QUEUES
from aggregator.settings import Settings
from tests.conftest import ingest_the_site, wait_for, whole_service
from tests.fixtures.site import Site

SERVER = shutil.which("rabbitmq-server") or (
    "/usr/lib/rabbitmq/bin/rabbitmq-server"
    if Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists()
    else None
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SERVER is None, reason="no rabbitmq-server to start a broker with"),
]


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    # Run as root, the script hands the node to the rabbitmq user: its folder must be open to it (pytest's
    # temporary folders are its owner's only).
    base = Path(tempfile.mkdtemp(prefix="aggregator-rabbitmq-"))
    base.chmod(0o777)
    port, dist = free_port(), free_port()
    (base / "plugins").write_text("[].")
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{port}\n")
    env = {
        **os.environ, "RABBITMQ_NODENAME": f"agg{port}@localhost", "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist), "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "plugins"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"), "RABBITMQ_PID_FILE": str(base / "pid"),
    }  # fmt: skip
    proc = subprocess.Popen(
        [str(SERVER)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"amqp://guest:guest@127.0.0.1:{port}//"
    try:
        wait_for(lambda: _accepts(url), timeout=60, interval=0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(base, ignore_errors=True)


def _accepts(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=1) as conn:
            conn.connect()
            return True
    except Exception:  # not up yet: refused, reset or not yet accepting logins
        return False


def test_workers_take_their_tasks_from_rabbitmq(settings: Settings, amqp_url: str, site: Site) -> None:
    with whole_service(settings.model_copy(update={"broker_url": amqp_url})) as api:
        stories = ingest_the_site(api, site)
        assert sorted(s["variant_count"] for s in stories) == [1, 1, 1, 1, 4]
        status = api.get("/v1/status").json()
        assert status["tasks_held"] is None and set(status["queues"]) == set(QUEUES)
        assert all(isinstance(n, int) for n in status["queues"].values())
    # Nothing went through the store's Redis as a broker.
    assert not any(key.startswith("_kombu") for key in _redis_keys(settings))


def _redis_keys(settings: Settings) -> list[str]:
    import redis

    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    try:
        return list(client.scan_iter(count=1000))
    finally:
        client.close()
