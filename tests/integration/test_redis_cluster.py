"""The store on a Redis Cluster of three masters on loopback: the pipeline, the story store (its
transactions and scripts) and `aggregator eval` give exactly what they give on a single Redis.
Skipped, saying why, where no redis-server or redis-cli can be found."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from aggregator.devserver import redis_server_binary
from aggregator.errors import StorageError
from aggregator.eval.runner import cluster_in_redis
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import ingest_the_site, serve_api, wait_for, whole_service
from tests.fixtures.sender import Recorder
from tests.fixtures.site import Site
from tests.fixtures.stories import UNRELATED, WIRE_BODY, WIRE_TITLE, article, twin_events


def _binaries() -> tuple[str, str] | None:
    try:
        server = redis_server_binary()
    except StorageError:
        return None
    cli = Path(server).with_name("redis-cli")
    found = str(cli) if cli.exists() else shutil.which("redis-cli")
    return (server, found) if found else None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_binaries() is None, reason="no redis-server and redis-cli to start a cluster with"),
]


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, cli = _binaries() or ("", "")
    ports, procs = _cluster_ports(3), []
    for port in ports:
        folder = tmp_path_factory.mktemp(f"node{port}")
        procs.append(subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
             "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
    try:
        for port in ports:
            wait_for(lambda p=port: _pings(p), timeout=10)
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas", "0",
             "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        for port in ports:
            wait_for(lambda p=port: redis.Redis(port=p).cluster("info").get("cluster_state") == "ok")
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _cluster_ports(n: int) -> list[int]:
    """Free ports whose cluster bus port (port + 10000) is free too: below 55536."""
    found: list[int] = []
    rng = random.Random()
    while len(found) < n:
        port = rng.randrange(20000, 45000)
        if port not in found and all(_free(p) for p in (port, port + 10000)):
            found.append(port)
    return found


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.2).ping())
    except redis.ConnectionError:
        return False


def _articles() -> list:  # type: ignore[type-arg]
    wire = [article("wire", WIRE_TITLE, WIRE_BODY), article("copy", f"Gazette: {WIRE_TITLE}", WIRE_BODY)]
    return wire + [article(k, t, b) for k, (t, b) in UNRELATED.items()] + twin_events(8)


def test_eval_on_a_cluster_gives_the_single_node_stories(settings: Settings, cluster_url: str) -> None:
    on_cluster = settings.model_copy(
        update={"redis_url": cluster_url, "redis_cluster": True, "broker_url": settings.redis_url,
                "ingest_batch_size": 3}
    )  # fmt: skip
    single = settings.model_copy(update={"ingest_batch_size": 3})
    articles = _articles()
    assert cluster_in_redis(articles, on_cluster) == cluster_in_redis(articles, single)


def test_the_story_store_on_a_cluster_serves_what_a_single_node_serves(
    settings: Settings, cluster_url: str
) -> None:
    on_cluster = settings.model_copy(
        update={"redis_url": cluster_url, "redis_cluster": True, "broker_url": settings.redis_url,
                "key_prefix": "t1"}
    )  # fmt: skip
    served = []
    for s in (settings, on_cluster):
        wiring = Wiring(s, sender=Recorder())
        try:
            articles = _articles()
            for i in range(0, len(articles), 4):
                wiring.ingest.cluster(articles[i : i + 4])
            listed, _ = wiring.views.list_stories(100, None)
            stories = {x["id"]: wiring.views.story(x["id"], 100, text=True) for x in listed}
            events = [(e.type, e.story_id) for e in wiring.events.read("0")]
            for story in stories.values():  # times differ between the two runs; the rest must not
                story.pop("first_seen"), story.pop("updated")
            served.append(({x["id"] for x in listed}, stories, events))
        finally:
            wiring.close()
    assert served[0] == served[1]
    # Every key of the service is in one slot, on one node.
    node = redis.RedisCluster.from_url(cluster_url)
    try:
        keys = [
            k for k in node.scan_iter(match="{t1}*", count=1000, target_nodes=redis.RedisCluster.ALL_NODES)
        ]
        assert keys and len({node.keyslot(k) for k in keys}) == 1
    finally:
        node.close()


def test_the_api_and_its_event_stream_run_on_a_cluster(settings: Settings, cluster_url: str) -> None:
    on_cluster = settings.model_copy(
        update={"redis_url": cluster_url, "redis_cluster": True, "broker_url": settings.redis_url,
                "key_prefix": "t2"}
    )  # fmt: skip
    wiring = Wiring(on_cluster, sender=Recorder())
    try:
        wiring.ingest.cluster(_articles()[:4])
    finally:
        wiring.close()
    with serve_api(on_cluster, Recorder()) as api:
        listed = api.get("/v1/stories").json()["items"]
        assert len(listed) == 3 and api.get(f"/v1/stories/{listed[0]['id']}").status_code == 200
        status = api.get("/v1/status").json()
        assert status["articles"]["pending"] == 0 and set(status["queues"]) >= {"pages", "clustering"}
        with httpx.stream("GET", f"{api.base}/v1/events", params={"after": "0"}, timeout=10) as resp:
            first = next(line for line in resp.iter_lines() if line.startswith("event:"))
        assert first == "event: story.created"


def test_workers_ingest_feeds_into_a_cluster(settings: Settings, cluster_url: str, site: Site) -> None:
    on_cluster = settings.model_copy(
        update={"redis_url": cluster_url, "redis_cluster": True, "broker_url": settings.redis_url,
                "key_prefix": "t3"}
    )  # fmt: skip
    with whole_service(on_cluster) as api:
        stories = ingest_the_site(api, site)
        assert sorted(s["variant_count"] for s in stories) == [1, 1, 1, 1, 4]
