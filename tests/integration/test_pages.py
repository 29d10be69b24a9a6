"""The reading pages over real HTTP without a browser: what they show, escaped, and their errors."""

from __future__ import annotations

from dataclasses import replace

from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import Api
from tests.fixtures.sender import Recorder
from tests.fixtures.stories import WIRE_BODY, WIRE_TITLE, article


def test_the_pages_show_stories_variants_and_feeds_escaped(api: Api, settings: Settings) -> None:
    wiring = Wiring(settings, sender=Recorder())
    hostile = replace(
        article("evil", WIRE_TITLE + " <script>alert(1)</script>", WIRE_BODY), source="Evil <b>"
    )
    wiring.ingest.cluster([article("wire", WIRE_TITLE, WIRE_BODY), hostile])
    wiring.close()

    home = api.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in home.headers
    assert WIRE_TITLE in home.text and 'href="/stories/swire"' in home.text
    story = api.get("/stories/swire").text
    assert "Every variant (2)" in story and "<script>alert" not in story and "&lt;script&gt;" in story
    assert "Evil &lt;b&gt;" in story
    assert api.get("/?q=kestrel").text.count('class="story"') == 1
    assert api.get("/?q=nothing-like-this").text.count('class="story"') == 0
    assert api.get("/?cursor=x").status_code == 422
    missing = api.get("/stories/snope")
    assert missing.status_code == 404 and "No story snope" in missing.text
    api.post("/v1/feeds", json={"url": "http://127.0.0.1:9/f.xml", "category": "Wires"})
    feeds = api.get("/feeds").text
    assert "http://127.0.0.1:9/f.xml" in feeds and "Wires" in feeds
    assert api.get("/static/live.js").status_code == 200
