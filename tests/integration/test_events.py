"""The live event stream over real HTTP: replay, resume without gap or duplicate, filters."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import httpx
import pytest
import redis

from aggregator.core.timestamps import seconds
from tests.conftest import Api, wait_for
from tests.fixtures.site import Site


def read_events(
    api: Api, want: int, params: dict[str, Any] | None = None, last_id: str | None = None, within: float = 20
) -> list[dict[str, Any]]:
    """Read SSE frames until `want` events arrived or `within` seconds passed (heartbeats wake us)."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    out: list[dict[str, Any]] = []
    frame: dict[str, Any] = {}
    deadline = time.monotonic() + within
    with httpx.stream("GET", f"{api.base}/v1/events", params=params, headers=headers, timeout=10) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith(("id:", "event:", "data:")):
                name, _, value = line.partition(":")
                frame[name] = value.strip()
            elif line == "" and frame:
                frame["data"] = json.loads(frame["data"])
                out.append(frame)
                frame = {}
            if len(out) >= want or time.monotonic() > deadline:
                break
    return out


def _add(api: Api, site: Site, outlet: str) -> str:
    resp = api.post("/v1/feeds", json={"url": site.feed_url(outlet)})
    assert resp.status_code == 201
    return str(resp.json()["id"])


def _total_variants(api: Api) -> int:
    return sum(s["variant_count"] for s in api.get("/v1/stories", params={"limit": 100}).json()["items"])


def test_live_events_then_resume_gets_exactly_the_missed_ones(api: Api, site: Site, worker: Any) -> None:
    site.publish_news()
    _add(api, site, "wire")
    first = read_events(api, 2, params={"after": "0"})
    assert sorted(e["event"] for e in first) == ["story.created", "story.created"]
    assert all(e["id"] == e["data"]["id"] for e in first)
    created = first[0]["data"]
    assert created["variant_count"] == 1 and created["canonical"]["url"].startswith(site.base)
    assert created["time"].endswith("Z") and abs(seconds(created["time"]) - time.time()) < 60
    last_seen = first[-1]["id"]

    # Disconnected: two more outlets arrive. Their events are in the log, not yet seen by the client.
    _add(api, site, "gazette")
    _add(api, site, "courier")
    wait_for(lambda: _total_variants(api) == 6)
    resumed = read_events(api, 100, last_id=last_seen, within=3)
    replayed = read_events(api, 100, params={"after": "0"}, within=3)
    ids = [e["id"] for e in replayed]
    assert [e["id"] for e in resumed] == ids[ids.index(last_seen) + 1 :]  # no gap, no duplicate
    kinds = [e["event"] for e in resumed]
    assert kinds.count("story.created") == 2 and kinds.count("story.variant_added") == 2
    assert set(kinds) <= {"story.created", "story.variant_added", "story.canonical_changed"}
    added = next(e["data"] for e in resumed if e["event"] == "story.variant_added")
    assert added["variant"]["relation"] == "copy" and added["variant_count"] >= 2

    # Live: a client connected now sees the next outlet's events as they happen.
    def add_daily() -> None:
        time.sleep(0.5)
        _add(api, site, "daily")

    threading.Thread(target=add_daily).start()
    live = read_events(api, 100, within=8)
    kinds = [e["event"] for e in live]
    assert kinds.count("story.created") == 1 and kinds.count("story.variant_added") == 1


def test_filters(api: Api, site: Site, worker: Any) -> None:
    site.publish_news()
    wire = _add(api, site, "wire")
    wait_for(lambda: _total_variants(api) == 2)  # the wire's article is the first of its story
    _add(api, site, "gazette")
    wait_for(lambda: _total_variants(api) == 4)
    everything = read_events(api, 100, params={"after": "0"}, within=3)
    assert len([e for e in everything if e["event"] != "story.canonical_changed"]) == 4
    created = read_events(api, 100, params={"after": "0", "types": "story.created"}, within=2)
    assert [e["id"] for e in created] == [e["id"] for e in everything if e["event"] == "story.created"]
    big = read_events(api, 100, params={"after": "0", "min_variants": 2}, within=2)
    assert [e["id"] for e in big] == [e["id"] for e in everything if e["data"]["variant_count"] >= 2]
    assert "story.variant_added" in {e["event"] for e in big}
    from_wire = read_events(api, 100, params={"after": "0", "feed": wire}, within=2)
    assert [e["event"] for e in from_wire] == ["story.created", "story.created"]
    assert api.get("/v1/events", params={"types": "story.exploded"}).status_code == 422
    assert api.get("/v1/events", params={"after": "yesterday"}).status_code == 422


def test_expired_id_gets_an_error_then_the_oldest(
    api: Api, site: Site, worker: Any, redis_client: redis.Redis
) -> None:
    site.publish_news()
    _add(api, site, "wire")
    _add(api, site, "gazette")
    wait_for(lambda: _total_variants(api) == 4)
    first_id = read_events(api, 1, params={"after": "0"})[0]["id"]
    redis_client.xtrim("agg:events", maxlen=2, approximate=False)  # as retention would
    frames: list[str] = []
    with httpx.stream("GET", f"{api.base}/v1/events", params={"after": first_id}, timeout=10) as resp:
        for line in resp.iter_lines():
            frames.append(line)
            if sum(1 for f in frames if f.startswith("id:")) == 2:
                break
    assert frames[0] == "event: error" and "events_expired" in frames[1]
    assert sum(1 for f in frames if f.startswith("id:")) == 2


def test_an_idle_event_stream_is_not_taken_for_an_outage(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    # The reader blocks on the log 5 s at a time; a socket timeout as short as that made every idle wait
    # an error, and live events waited a second for the retry. A subscriber keeps the reader reading.
    caplog.set_level(logging.WARNING, logger="aggregator.api.stream")
    started = time.monotonic()
    read_events(api, 1, within=6.5)  # longer than one blocking read: the passing of idle time is tested
    assert time.monotonic() - started >= 6.5
    assert [r.getMessage() for r in caplog.records if r.name == "aggregator.api.stream"] == []


def _log_reads(r: redis.Redis) -> int:
    stats: dict[str, Any] = r.info("commandstats")
    return int(stats.get("cmdstat_xread", {}).get("calls", 0))


def test_without_subscribers_the_log_is_not_read(
    api: Api, site: Site, worker: Any, redis_client: redis.Redis
) -> None:
    before = _log_reads(redis_client)
    site.publish_news()
    _add(api, site, "wire")
    wait_for(lambda: _total_variants(api) == 2)
    assert _log_reads(redis_client) == before  # two stories' events were written, for nobody

    # The first subscriber wakes the reader: it gets what happens from when it joined.
    def add_gazette() -> None:
        time.sleep(0.5)
        _add(api, site, "gazette")

    threading.Thread(target=add_gazette).start()
    live = read_events(api, 2, within=8)
    assert sorted(e["event"] for e in live) == ["story.created", "story.variant_added"]
    assert _log_reads(redis_client) > before
