"""Feed lists in and out as OPML, categories and paused feeds, over the real API and Redis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import redis

from aggregator.ingest.opml import read_opml
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import Api
from tests.fixtures.site import OPML_FOLDERS, Site
from tests.fixtures.stories import OUTLETS


def _feeds(api: Api) -> dict[str, tuple[str | None, str | None]]:
    """url -> (title, category) of every feed."""
    items = api.get("/v1/feeds").json()["items"]
    return {f["url"]: (f["title"], f["category"]) for f in items}


def test_opml_round_trip_keeps_feeds_and_folders(api: Api, site: Site, redis_client: redis.Redis) -> None:
    site.publish_news()
    listing = httpx.get(f"{site.base}/feeds.opml").content
    report = api.post("/v1/feeds/import", content=listing, headers={"content-type": "text/x-opml"})
    assert report.status_code == 200, report.text
    assert sorted(f["url"] for f in report.json()["added"]) == sorted(site.feed_url(o) for o in OUTLETS)
    assert report.json()["existing"] == [] and report.json()["refused"] == []
    want = {site.feed_url(o): (OUTLETS[o][0], OPML_FOLDERS[o]) for o in OUTLETS}
    assert _feeds(api) == want

    again = api.post("/v1/feeds/import", files={"file": ("feeds.opml", listing, "text/x-opml")}).json()
    assert again["added"] == [] and len(again["existing"]) == len(OUTLETS)

    exported = api.get("/v1/feeds.opml")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/x-opml")
    redis_client.flushdb()  # a fresh service
    assert _feeds(api) == {}
    assert len(api.post("/v1/feeds/import", content=exported.content).json()["added"]) == len(OUTLETS)
    assert _feeds(api) == want


def test_an_import_reports_what_it_refused_and_adds_the_rest(api: Api, site: Site) -> None:
    listing = f"""<?xml version="1.0"?><opml version="1.0"><head/><body>
      <outline type="rss" text="broken" xmlUrl="http://[zzz]/feed"/>
      <outline type="rss" text="not http" xmlUrl="ftp://127.0.0.1/feed"/>
      <outline type="rss" text="fine" xmlUrl="{site.base}/fine.xml"/>
    </body></opml>"""
    report = api.post("/v1/feeds/import", content=listing).json()
    assert [f["url"] for f in report["added"]] == [f"{site.base}/fine.xml"]
    refused = {r["url"]: r["reason"] for r in report["refused"]}
    assert set(refused) == {"http://[zzz]/feed", "ftp://127.0.0.1/feed"} and all(refused.values())
    for body in (b"<rss><channel/></rss>", b"\xff\xfe not xml", b""):
        resp = api.post("/v1/feeds/import", content=body)
        assert resp.status_code == 422 and "not an OPML document" in resp.json()["detail"], body
    assert api.post("/v1/feeds/import", files={"other": ("x", b"y")}).status_code == 422


def test_a_paused_feed_is_not_fetched_until_resumed(api: Api, settings: Settings) -> None:
    feed = api.post(
        "/v1/feeds", json={"url": "http://127.0.0.1:9/f.xml", "category": " News / World "}
    ).json()
    assert feed["category"] == "News/World" and feed["paused"] is False
    paused = api.patch(f"/v1/feeds/{feed['id']}", json={"paused": True}).json()
    assert paused["paused"] is True and paused["next_due"] is None and paused["category"] == "News/World"
    wiring = Wiring(settings)
    try:
        assert feed["id"] not in wiring.feed_store.claim_due(now=10**10)  # due forever after: still not
        resumed = api.patch(f"/v1/feeds/{feed['id']}", json={"paused": False, "category": ""}).json()
        assert resumed["paused"] is False and resumed["category"] is None
        assert wiring.feed_store.claim_due(now=10**10) == [feed["id"]]
    finally:
        wiring.close()
    assert api.patch(f"/v1/feeds/{feed['id']}", json={"colour": "red"}).status_code == 422
    assert api.patch("/v1/feeds/fnothing", json={"paused": True}).status_code == 404


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aggregator.cli", "feeds", *args], capture_output=True, text=True, timeout=60
    )


def test_the_feeds_commands_import_list_export_and_say_what_is_wrong(
    api: Api, site: Site, tmp_path: Path
) -> None:
    site.publish_news()
    listing = tmp_path / "site.opml"
    listing.write_bytes(httpx.get(f"{site.base}/feeds.opml").content)
    done = _cli("--api", api.base, "import", str(listing))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{listing}: 4 added, 0 known already, 0 refused"
    assert "importing" in done.stderr  # the progress bar
    assert _feeds(api) == {site.feed_url(o): (OUTLETS[o][0], OPML_FOLDERS[o]) for o in OUTLETS}

    added = _cli("--api", api.base, "add", f"{site.base}/extra.xml", "--category", "Extra")
    assert added.returncode == 0 and added.stdout.startswith("added f")
    rows = _cli("--api", api.base, "list").stdout.splitlines()
    assert len(rows) == 6 and any("Local/Papers" in r and site.feed_url("gazette") in r for r in rows)

    out = tmp_path / "export.opml"
    assert _cli("--api", api.base, "export", "-o", str(out)).returncode == 0
    assert {f.url for f in read_opml(out.read_bytes())} == set(_feeds(api))

    missing = _cli("--api", api.base, "import", str(tmp_path / "nope.opml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr
    bad = _cli("--api", api.base, "add", "ftp://x/feed")
    assert bad.returncode == 1 and "422" in bad.stderr and len(bad.stderr.splitlines()) == 1
    away = _cli("--api", "http://127.0.0.1:9", "list")
    assert away.returncode == 1 and "cannot reach the API" in away.stderr
