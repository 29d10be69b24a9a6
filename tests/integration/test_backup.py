"""Backup and restore as docs/backup.md tells it: a snapshot (BGSAVE) of a running store, restored into
a new redis-server, serves the same stories, and keeps them over a restart with append-only on."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from aggregator.devserver import EmbeddedRedis, free_port, redis_server_binary
from aggregator.settings import Settings
from aggregator.store.connection import connect
from aggregator.wiring import Wiring
from tests.conftest import wait_for
from tests.fixtures.sender import Recorder
from tests.fixtures.stories import UNRELATED, WIRE_BODY, WIRE_TITLE, article


def _everything(settings: Settings) -> tuple[list[dict], dict[str, dict]]:  # type: ignore[type-arg]
    wiring = Wiring(settings, sender=Recorder())
    try:
        listed, _ = wiring.views.list_stories(100, None)
        return listed, {s["id"]: wiring.views.story(s["id"], 100, text=True) for s in listed}
    finally:
        wiring.close()


def test_a_snapshot_restored_serves_the_same_stories(settings: Settings, tmp_path: Path) -> None:
    wiring = Wiring(settings, sender=Recorder())
    articles = [article("wire", WIRE_TITLE, WIRE_BODY), article("copy", f"Gazette: {WIRE_TITLE}", WIRE_BODY)]
    articles += [article(key, title, body) for key, (title, body) in UNRELATED.items()]
    wiring.ingest.cluster(articles)
    wiring.close()
    before = _everything(settings)
    assert len(before[0]) == 1 + len(UNRELATED)

    # 1. Snapshot: BGSAVE, wait until it is done and nothing changed since, copy the file it wrote.
    source = connect(settings.redis_url or "")
    source.bgsave()
    wait_for(lambda: _saved(source))
    where = source.config_get("dir")["dir"], source.config_get("dbfilename")["dbfilename"]
    snapshot = tmp_path / "snapshot.rdb"
    shutil.copy(Path(where[0]) / where[1], snapshot)
    source.close()

    # 2. Restore into an empty data directory: load the snapshot with append-only off, then turn it on
    # (Redis writes the append-only file from what it loaded), and stop.
    data = tmp_path / "restored"
    data.mkdir()
    shutil.copy(snapshot, data / "dump.rdb")
    port = free_port()
    loader = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
         "--appendonly", "no", "--save", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port)
        wait_for(lambda: _answers(client))
        client.config_set("appendonly", "yes")
        wait_for(lambda: _rewritten(client))
        client.shutdown(nosave=True)
    finally:
        loader.wait(10)

    # 3. Start the store as the service does (append-only on) and read everything back.
    restored = EmbeddedRedis(data)
    restored.start()
    try:
        after = _everything(settings.model_copy(update={"redis_url": restored.url}))
    finally:
        restored.stop()
    assert after == before


def _saved(client: redis.Redis) -> bool:
    info = client.info("persistence")
    return (
        info["rdb_bgsave_in_progress"] == 0
        and info["rdb_last_bgsave_status"] == "ok"
        and info["rdb_changes_since_last_save"] == 0
    )


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping()) and client.info("persistence")["loading"] == 0
    except redis.ConnectionError:
        time.sleep(0.05)
        return False


def _rewritten(client: redis.Redis) -> bool:
    info = client.info("persistence")
    return (
        bool(info["aof_enabled"])
        and not info["aof_rewrite_in_progress"]
        and not info["aof_rewrite_scheduled"]
    )
