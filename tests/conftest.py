"""Shared fixtures: a real redis-server on a free port, the fixture web site, a real Celery worker,
and the API served by uvicorn on loopback."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from pydantic import BaseModel

from aggregator.api.app import create_app
from aggregator.api.protocol import HeaderDeadline
from aggregator.devserver import EmbeddedRedis, free_port
from aggregator.dispatch import QUEUES
from aggregator.settings import Settings, defaults
from aggregator.store.connection import connect
from tests.fixtures.site import Site, serve


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = connect(redis_server.url)  # decoding as the service does
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def settings(redis_server: EmbeddedRedis, redis_client: redis.Redis, tmp_path: Path) -> Settings:
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text("")
    return defaults(
        redis_url=redis_server.url,
        data_dir=tmp_path / "data",
        feeds_file=feeds_file,
        allow_private_hosts=True,
        schedule_tick_s=0.5,
        poll_interval_s=3600,
        total_timeout_s=10,
        sse_heartbeat_s=0.3,  # readers of /v1/events wake often enough to stop on their deadline
        webhook_backoff_s=0.05,
        host_gap_s=0.0,  # one loopback host serves every outlet here; politeness has its own test
        host_concurrency=16,
        webhook_max_failures=3,
    )


@pytest.fixture
def site() -> Iterator[Site]:
    site, server = serve()
    yield site
    server.shutdown()


@pytest.fixture
def celery_app(settings: Settings) -> Any:
    from workers.celery_app import make_celery

    app = make_celery(settings)
    app.set_current()
    return app


@pytest.fixture
def worker(celery_app: Any) -> Iterator[Any]:
    from celery.contrib.testing.worker import start_worker

    import workers.tasks  # noqa: F401  (registers the tasks)

    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30,
        queues=list(QUEUES),
    ) as w:  # fmt: skip
        yield w


class Api:
    """The API on a real port, with an httpx client pointed at it."""

    def __init__(self, base: str, app: Any = None) -> None:
        self.base = base
        self.app = app  # the FastAPI app served
        self.http = httpx.Client(base_url=base, timeout=10)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.patch(path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)


def assert_wire(model: type[BaseModel], data: dict[str, Any]) -> None:
    """`data` is what `model` would send: the routes that encode their dicts without a model hold
    to the documented contract (the same fields, times as ISO 8601 strings)."""
    assert model.model_validate(data).model_dump(mode="json", exclude_unset=True) == data


@contextlib.contextmanager
def serve_api(settings: Settings, sender: Any) -> Iterator[Api]:
    """The API app served by uvicorn in a thread on a free loopback port."""
    port = free_port()
    app = create_app(settings, sender=sender)
    HeaderDeadline.header_timeout_s = settings.api_header_timeout_s  # the protocol the service runs
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=HeaderDeadline)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    client = Api(f"http://127.0.0.1:{port}", app)
    try:
        yield client
    finally:
        client.http.close()
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def whole_service(settings: Settings) -> Iterator[Api]:
    """The service on `settings` as a deployment runs it: its own Celery app, a real worker on every
    queue, and the API (for a store or broker other than the `settings` fixture's)."""
    from celery.contrib.testing.worker import start_worker

    import workers.tasks  # noqa: F401  (registers the tasks)
    from workers.celery_app import make_celery

    app = make_celery(settings)
    app.set_current()
    with (
        start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, queues=list(QUEUES)),
        serve_api(settings, app) as api,
    ):
        yield api


def ingest_the_site(api: Api, site: Site) -> list[dict[str, Any]]:
    """Add every outlet of the fixture site and wait until its 8 articles are all in stories."""
    from tests.fixtures.stories import OUTLETS

    site.publish_news()
    for outlet in OUTLETS:
        assert api.post("/v1/feeds", json={"url": site.feed_url(outlet)}).status_code == 201

    def settled() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = api.get("/v1/stories").json()["items"]
        return items if sum(s["variant_count"] for s in items) == 2 * len(OUTLETS) else None

    return list(wait_for(settled))


@pytest.fixture
def api(settings: Settings, celery_app: Any) -> Iterator[Api]:
    with serve_api(settings, celery_app) as client:
        yield client


def wait_for(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll until `check()` returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run a real Celery worker or the whole service are the slow tier (`make test-fast`
    leaves them out)."""
    for item in items:
        if {"worker", "service", "start_worker"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
