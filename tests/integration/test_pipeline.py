"""End to end through real HTTP, real Redis and a real Celery worker, asserted through the API."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from aggregator.api.schemas import ArticleWithStory, StoryOut, StoryPage, VariantPage
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import Api, assert_wire, wait_for
from tests.fixtures.sender import Recorder
from tests.fixtures.site import OWN_STORY, Site, page
from tests.fixtures.stories import OUTLETS, UNRELATED, WIRE_BODY, WIRE_TITLE


def _stories(api: Api) -> list[dict[str, Any]]:
    return list(api.get("/v1/stories", params={"limit": 100}).json()["items"])


def _settled(api: Api, articles: int) -> list[dict[str, Any]] | None:
    items = _stories(api)
    return items if sum(s["variant_count"] for s in items) == articles else None


def _add_all(api: Api, site: Site) -> None:
    for outlet in OUTLETS:
        resp = api.post("/v1/feeds", json={"url": site.feed_url(outlet)})
        assert resp.status_code == 201, resp.text


def test_copies_form_one_story_and_others_stay_apart(api: Api, site: Site, worker: Any) -> None:
    site.publish_news()
    _add_all(api, site)
    items = wait_for(lambda: _settled(api, 8))
    by_size = sorted(items, key=lambda s: -s["variant_count"])
    assert by_size[0]["variant_count"] == 4
    assert [s["variant_count"] for s in by_size[1:]] == [1, 1, 1, 1]

    story = api.get(f"/v1/stories/{by_size[0]['id']}").json()
    assert_wire(StoryOut, story)  # the routes encode their dicts without a model
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    assert iso.fullmatch(story["first_seen"]) and iso.fullmatch(story["variants"][0]["fetched"])
    urls = sorted(v["url"] for v in story["variants"])
    assert urls == sorted(f"{site.base}/{o}/bridge.html" for o in OUTLETS)
    relations = sorted(v["relation"] for v in story["variants"])
    assert relations == ["canonical", "copy", "copy", "copy"]
    assert story["canonical"]["id"] in {v["id"] for v in story["variants"]}
    assert "cracks" in story["canonical"]["text"]
    assert "Related Articles" not in story["canonical"]["text"]
    # Variants come without their texts unless asked for.
    assert all("text" not in v for v in story["variants"])
    full = api.get(f"/v1/stories/{story['id']}", params={"include": "text"}).json()
    assert all("cracks" in v["text"] for v in full["variants"])
    assert api.get(f"/v1/stories/{story['id']}", params={"include": "body"}).status_code == 422
    top = by_size[0]
    assert top["source_count"] == 4 and all(s["source_count"] == 1 for s in by_size[1:])
    assert top["snippet"].startswith("NORVALE (Meridian Wire) - The city of Norvale closed")
    assert top["snippet"].endswith("…") and len(top["snippet"]) <= 201
    # A headline search: case ignored, paged by its own cursor.
    found = api.get("/v1/stories", params={"q": "kestrel BRIDGE"}).json()
    assert [s["id"] for s in found["items"]] == [top["id"]] and found["next_cursor"] is None
    one = api.get("/v1/stories", params={"q": "e", "limit": 1}).json()
    rest = api.get("/v1/stories", params={"q": "e", "limit": 10, "cursor": one["next_cursor"]}).json()
    matching = [s["id"] for s in items if "e" in s["title"].lower()]
    assert [s["id"] for s in one["items"] + rest["items"]] == matching
    assert api.get("/v1/stories", params={"q": "zzzz"}).json() == {"items": [], "next_cursor": None}
    assert api.get("/v1/stories", params={"q": ""}).status_code == 422
    # The outlet's own stories each stand alone, titled as the outlet titled them.
    titles = {s["title"] for s in by_size[1:]}
    assert titles == {UNRELATED[k][0] for k in OWN_STORY.values()}

    paged, cursor = [], None
    while True:
        page = api.get(
            "/v1/stories", params={"limit": 2, "cursor": cursor} if cursor else {"limit": 2}
        ).json()
        assert_wire(StoryPage, page)
        paged += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert paged == [s["id"] for s in items]

    variants = api.get(f"/v1/stories/{story['id']}/variants").json()["items"]
    assert len(variants) == 4
    # A page of variants at a time, in the order they joined; the story carries the first page.
    walked, cursor = [], None
    while True:
        got = api.get(f"/v1/stories/{story['id']}/variants", params={"limit": 3, "cursor": cursor or ""})
        assert_wire(VariantPage, got.json())
        walked += [v["id"] for v in got.json()["items"]]
        cursor = got.json()["next_cursor"]
        if not cursor:
            break
    assert walked == [v["id"] for v in variants]
    short = api.get(f"/v1/stories/{story['id']}", params={"variants_limit": 1}).json()
    assert [v["id"] for v in short["variants"]] == walked[:1] and short["variants_next_cursor"] == "1"
    assert short["variant_count"] == 4 and short["canonical"]["id"] == story["canonical"]["id"]
    assert short["canonical"]["relation"] == "canonical"
    assert api.get(f"/v1/stories/{story['id']}/variants", params={"cursor": "x"}).status_code == 422
    one = api.get(f"/v1/articles/{variants[1]['id']}").json()
    assert_wire(ArticleWithStory, one)
    assert one["story_id"] == story["id"] and "cracks" in one["text"]


def test_second_poll_adds_nothing(api: Api, site: Site, worker: Any, celery_app: Any) -> None:
    site.publish_news()
    _add_all(api, site)
    before = wait_for(lambda: _settled(api, 8))
    feeds = api.get("/v1/feeds").json()["items"]
    for feed in feeds:  # the same refresh twice: a duplicate delivery and a real second poll
        celery_app.send_task("aggregator.refresh_feed", args=[feed["id"]])
        celery_app.send_task("aggregator.refresh_feed", args=[feed["id"]])
    wait_for(lambda: all(site.count(f"/{o}/feed.xml") >= 3 for o in OUTLETS))
    wait_for(
        lambda: all(f["last_status"] == "not_modified" for f in api.get("/v1/feeds").json()["items"]),
        timeout=15,
    )
    after = _stories(api)
    assert sorted((s["id"], s["variant_count"]) for s in after) == sorted(
        (s["id"], s["variant_count"]) for s in before
    )


def test_broken_feed_records_error_and_others_go_on(api: Api, site: Site, worker: Any) -> None:
    site.publish_news()
    site.set("/broken/feed.xml", "upstream exploded", status=500, ctype="text/plain")
    site.set("/garbage/feed.xml", b"\x00\x01 this is not xml at all \xff", ctype="application/rss+xml")
    for url in (f"{site.base}/broken/feed.xml", f"{site.base}/garbage/feed.xml", site.feed_url("gazette")):
        assert api.post("/v1/feeds", json={"url": url}).status_code == 201
    wait_for(lambda: _settled(api, 2))

    def errored() -> dict[str, Any] | None:
        feeds = {f["url"]: f for f in api.get("/v1/feeds").json()["items"]}
        broken, garbage = feeds[f"{site.base}/broken/feed.xml"], feeds[f"{site.base}/garbage/feed.xml"]
        return feeds if broken["last_status"] == "error" and garbage["last_status"] == "error" else None

    feeds = wait_for(errored)
    assert "500" in feeds[f"{site.base}/broken/feed.xml"]["last_error"]
    assert feeds[f"{site.base}/broken/feed.xml"]["errors"] == 1
    assert feeds[f"{site.base}/garbage/feed.xml"]["last_error"]
    good = feeds[site.feed_url("gazette")]
    assert good["last_status"] == "ok" and good["last_error"] is None


def test_page_failure_falls_back_to_summary(api: Api, site: Site, worker: Any) -> None:
    site.publish_news()
    site.set("/gazette/orchard.html", "gone", status=410, ctype="text/plain")
    api.post("/v1/feeds", json={"url": site.feed_url("gazette")})
    items = wait_for(lambda: _settled(api, 2))
    orchard = next(s for s in items if "strawberry" in s["title"])
    story = api.get(f"/v1/stories/{orchard['id']}").json()
    assert story["canonical"]["extraction"] == "summary"
    assert "410" in story["canonical"]["extraction_error"]
    assert story["canonical"]["text"].startswith("Growers in the Tarrow valley")


def test_a_page_that_is_not_the_article_is_marked_failed(api: Api, site: Site, worker: Any) -> None:
    site.publish_news()
    search = "<html><head><title>Gazette Search</title></head><body><p>Search the archive.</p></body></html>"
    site.set("/gazette/orchard.html", search)
    api.post("/v1/feeds", json={"url": site.feed_url("gazette")})
    items = wait_for(lambda: _settled(api, 2))
    orchard = next(s for s in items if "strawberry" in s["title"])
    canonical = api.get(f"/v1/stories/{orchard['id']}").json()["canonical"]
    assert canonical["extraction"] in ("failed", "summary") and canonical["extraction_error"]
    assert canonical["text"].startswith("Growers in the Tarrow valley")  # the feed's summary stands in


def test_changed_article_becomes_a_revision(api: Api, site: Site, worker: Any, celery_app: Any) -> None:
    site.publish_news()
    api.post("/v1/feeds", json={"url": site.feed_url("gazette")})
    items = wait_for(lambda: _settled(api, 2))
    bridge = next(s for s in items if "Kestrel" in s["title"])
    old = api.get(f"/v1/stories/{bridge['id']}").json()["canonical"]

    # The outlet corrects its headline and adds a paragraph: the feed item and the page change.
    title = "Gazette: Norvale shuts Kestrel Bridge for a month after cable cracks found"
    body = WIRE_BODY + "\n\nUpdate: the city later said the closure would last at least a month."
    site.set("/gazette/bridge.html", page("gazette", title, body))
    feed = site.routes["/gazette/feed.xml"]
    assert isinstance(feed, tuple)
    site.set(
        "/gazette/feed.xml",
        feed[2].decode().replace(html.escape(f"The Harbour Gazette: {WIRE_TITLE}"), html.escape(title)),
        ctype="application/rss+xml",
    )
    fid = api.get("/v1/feeds").json()["items"][0]["id"]
    for _ in range(2):  # delivered twice: one revision all the same
        celery_app.send_task("aggregator.refresh_feed", args=[fid])

    def revised() -> dict[str, Any] | None:
        art = api.get(f"/v1/articles/{old['id']}").json()
        return art if art["revision"] == 1 else None

    art = wait_for(revised)
    assert art["title"] == title and "at least a month" in art["text"]
    assert art["story_id"] == bridge["id"]
    assert [r["title"] for r in art["revisions"]] == [old["title"]]
    wait_for(lambda: site.count("/gazette/feed.xml") >= 3)  # both refreshes fetched the feed
    after = wait_for(lambda: _settled(api, 2))  # still two stories, no new variant
    assert sorted(s["id"] for s in after) == sorted(s["id"] for s in items)
    assert api.get(f"/v1/articles/{old['id']}").json()["revision"] == 1


def test_status_and_metrics_show_the_work_done(api: Api, site: Site, worker: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    site.publish_news()
    _add_all(api, site)
    wait_for(lambda: _settled(api, 8))

    def idle() -> dict[str, Any] | None:
        status = api.get("/v1/status").json()
        return status if not any(status["queues"].values()) and not status["articles"]["pending"] else None

    status = wait_for(idle)
    assert set(status["queues"]) == {"scheduler", "new_feeds", "feeds", "pages", "clustering", "webhooks"}
    assert isinstance(status["tasks_held"], int)
    assert status["feeds"] == {"total": 4, "due": 0, "failing": 0}
    assert status["articles"]["extracted"] == 0 and status["articles"]["oldest_pending_s"] is None
    assert set(status["errors_last_hour"]) == {"feeds", "pages", "webhooks", "articles"}

    text = api.get("/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("aggregator_articles_clustered_total", (("relation", "copy"),))] == 3
    assert samples[("aggregator_articles_clustered_total", (("relation", "canonical"),))] == 5
    assert samples[("aggregator_fetches_total", (("kind", "page"), ("outcome", "ok")))] == 8
    assert samples[("aggregator_fetches_total", (("kind", "feed"), ("outcome", "ok")))] == 4
    assert samples[("aggregator_fetch_seconds_count", (("kind", "page"),))] == 8
    assert samples[("aggregator_fetch_seconds_bucket", (("kind", "page"), ("le", "+Inf")))] == 8
    assert samples[("aggregator_queue_depth", (("queue", "pages"),))] == 0
    assert samples[("aggregator_feeds_failing", ())] == 0
    assert ("aggregator_tasks_held", ()) in samples


def test_metrics_are_sent_in_one_trip_and_read_back_whole(settings: Settings) -> None:
    wiring = Wiring(settings, sender=Recorder())
    try:
        metrics = wiring.metrics
        for _ in range(50):
            metrics.count("fetches", kind="page", outcome="ok")
            metrics.observe("fetch_seconds", 0.3, kind="page")
        assert not wiring.redis.exists(wiring.keys.counters)  # kept in the process until a flush is due
        metrics.error("pages", 2)
        got = {(name, tuple(sorted(labels.items()))): v for name, labels, v in metrics.counters()}
        assert got[("fetches", (("kind", "page"), ("outcome", "ok")))] == 50
        hist = metrics.histograms()[("fetch_seconds", (("kind", "page"),))]
        assert (hist.get("0.25", 0), hist["0.5"], hist["+Inf"], hist["count"]) == (0, 50, 50, 50)
        assert hist["sum"] == pytest.approx(15.0)
        assert metrics.errors_last_hour()["pages"] == 2
    finally:
        wiring.close()
