"""Bad feeds, each served over real HTTP: every one gets a clear error on its own status, stores no
entry, and the good feeds polled alongside go on."""

from __future__ import annotations

import time

import pytest

from aggregator.dispatch import FETCH_PAGES, REFRESH_FEED
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.fixtures.sender import Recorder
from tests.fixtures.site import Site

_RSS = "application/rss+xml"
_LATIN1_DECLARED_UTF8 = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\xe9 Gazette</title>'
    "<item><title>Cr\xe8me br\xfbl\xe9e festival opens</title><link>http://news.test/creme</link></item>"
    "</channel></rss>"
).encode("latin-1")
_EMPTY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet Times</title></channel></rss>'

# path: (status, headers, body, expected status, expected words in the error)
CASES: dict[str, tuple[int, dict[str, str], bytes, str, str]] = {
    "/missing.xml": (404, {}, b"no such feed", "error", "HTTP 404"),
    "/gone.xml": (410, {}, b"gone for good", "error", "HTTP 410"),
    "/busy.xml": (429, {"Retry-After": "120"}, b"slow down", "error", "HTTP 429"),
    "/down.xml": (500, {}, b"upstream exploded", "error", "HTTP 500"),
    "/garbage.xml": (200, {"Content-Type": _RSS}, b"\x00\x01 not a feed \xff\xfe", "error", "not an RSS"),
    "/html.xml": (200, {"Content-Type": "text/html"}, b"<html><body>Welcome!</body></html>", "error",
                  "not an RSS"),
    "/blank.xml": (200, {"Content-Type": _RSS}, b"", "error", "not an RSS"),
    "/truncated.xml": (200, {"Content-Type": _RSS}, _EMPTY[:60], "error", "broken feed"),
    "/empty.xml": (200, {"Content-Type": _RSS}, _EMPTY, "ok", ""),
    "/charset.xml": (200, {"Content-Type": _RSS}, _LATIN1_DECLARED_UTF8, "ok", ""),
}  # fmt: skip


@pytest.fixture
def wiring(settings: Settings) -> Wiring:
    return Wiring(settings.model_copy(update={"poll_interval_s": 300}), sender=Recorder())


def test_each_bad_feed_gets_a_clear_error_and_the_rest_go_on(wiring: Wiring, site: Site) -> None:
    site.publish_news()
    for path, (status, headers, body, _, _) in CASES.items():
        site.routes[path] = (status, headers, body)
    feeds = {path: wiring.feeds.add(site.base + path)[0].id for path in CASES}
    good = wiring.feeds.add(site.feed_url("gazette"))[0].id
    sender = wiring.dispatch.sender
    assert isinstance(sender, Recorder)

    before = time.time()
    for path, fid in feeds.items():
        expected, words = CASES[path][3], CASES[path][4]
        sent = len(sender.ingested())
        result = wiring.refresh.refresh(fid)
        feed = wiring.feed_store.get(fid)
        assert (result.status, feed.last_status) == (expected, expected), path
        if expected == "error":
            assert words in (feed.last_error or ""), (path, feed.last_error)
            assert feed.errors == 1
            assert len(sender.ingested()) == sent, f"{path} stored entries"
    assert wiring.refresh.refresh(good).new_entries == 2
    assert wiring.feed_store.get(good).last_status == "ok"

    # 429 waits as long as the server asked; others back off from the poll interval, doubling per error.
    assert wiring.feed_store.get(feeds["/busy.xml"]).next_due == pytest.approx(before + 120, abs=5)
    assert wiring.feed_store.get(feeds["/down.xml"]).next_due == pytest.approx(before + 300, abs=5)
    # A wrong declared charset still reads; the empty feed is fine and empty.
    assert wiring.feed_store.get(feeds["/charset.xml"]).title == "Café Gazette"
    charset_entry = wiring.articles.pending_entries(sender.ingested())[0][0]
    assert charset_entry.title == "Crème brûlée festival opens"
    assert wiring.feed_store.get(feeds["/empty.xml"]).title == "Quiet Times"


def _poison_feed(site: Site) -> bytes:
    """Ten items: seven good ones, and a port out of range, a host label over 63 characters and a
    javascript: link."""
    good = [f"{site.base}/wire/item{i}.html" for i in range(7)]
    bad = [
        "http://127.0.0.1:99999/port.html",
        f"http://{'x' * 64}.example/label.html",
        "javascript:alert(1)",
    ]
    items = "".join(
        f"<item><title>Item {i}</title><link>{link}</link><description>Summary {i} of the day's news "
        "about the harbour and the ferries.</description></item>"
        for i, link in enumerate([*good[:3], bad[0], *good[3:5], bad[1], *good[5:], bad[2]])
    )
    channel = f"<channel><title>Poison</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def test_poison_items_are_skipped_and_recorded_and_their_feed_mates_go_on(wiring: Wiring, site: Site) -> None:
    site.routes["/poison.xml"] = (200, {"Content-Type": _RSS}, _poison_feed(site))
    fid = wiring.feeds.add(site.base + "/poison.xml")[0].id
    result = wiring.refresh.refresh(fid)
    feed = wiring.feed_store.get(fid)
    assert (result.status, result.new_entries, feed.last_status) == ("ok", 7, "ok")
    reasons = " | ".join(s["reason"] for s in feed.skipped).lower()
    assert len(feed.skipped) == 3, feed.skipped
    assert "port" in reasons and "label" in reasons and "http" in reasons
    sender = wiring.dispatch.sender
    assert isinstance(sender, Recorder)
    ids = sender.ingested()
    assert len(ids) == 7
    for i in range(0, len(ids), 4):  # the pages do not exist: summaries stand in, nothing is lost
        wiring.ingest.ingest_articles(ids[i : i + 4])
    assert wiring.articles.clustered(ids) == set(ids)


def test_an_unexpected_failure_of_a_refresh_is_recorded_with_backoff(
    wiring: Wiring, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    fid = wiring.feeds.add(site.feed_url("gazette"))[0].id
    site.publish_news()

    def broken(body: bytes, url: str) -> None:
        raise RuntimeError("a parser bug")

    monkeypatch.setattr("aggregator.usecases.feeds.parse_feed", broken)
    before = time.time()
    result = wiring.refresh.refresh(fid)
    feed = wiring.feed_store.get(fid)
    assert (result.status, feed.last_status, feed.errors) == ("error", "error", 1)
    assert "a parser bug" in (feed.last_error or "")
    assert feed.next_due == pytest.approx(before + 300, abs=5)  # backed off, not refetched at once


def test_a_page_that_failed_for_a_while_is_fetched_again_and_becomes_a_revision(
    wiring: Wiring, site: Site
) -> None:
    site.publish_news()
    served = {"n": 0}

    def flaky(request: object) -> tuple[int, dict[str, str], bytes]:
        served["n"] += 1
        if served["n"] <= 2:
            return 503, {"Retry-After": "30"}, b"busy"
        return ok  # the real page, from the third request on

    ok = site.routes["/gazette/orchard.html"]
    assert isinstance(ok, tuple)
    site.routes["/gazette/orchard.html"] = flaky
    fid = wiring.feeds.add(site.feed_url("gazette"))[0].id
    wiring.refresh.refresh(fid)
    sender = wiring.dispatch.sender
    assert isinstance(sender, Recorder)
    ids = sender.ingested()
    wiring.ingest.ingest_articles(ids)
    orchard = next(a for a in ids if "strawberry" in wiring.views.article(a)["title"])
    first = wiring.views.article(orchard)
    assert first["extraction"] == "summary" and "503" in first["extraction_error"]
    # Fetched again later (a delayed task each time), until the page comes: then a revision.
    for attempt in (1, 2):
        name, args, options = [t for t in sender.sent_with_options if t[0] == FETCH_PAGES][-1]
        assert args == [[orchard]] and options["countdown"] > 0, attempt
        wiring.ingest.ingest_articles(args[0])
    now = wiring.views.article(orchard)
    assert (now["extraction"], now["revision"]) == ("page", 1)
    assert "Growers in the Tarrow valley" in now["text"] and len(now["text"]) > len(first["text"])
    assert served["n"] == 3


def test_a_feed_is_refreshed_once_for_one_due_time(wiring: Wiring, site: Site) -> None:
    site.publish_news()
    sender = wiring.dispatch.sender
    assert isinstance(sender, Recorder)
    fid = wiring.feeds.add(site.feed_url("gazette"))[0].id  # dispatched at once
    assert wiring.refresh.schedule_due() == []  # ticks while that refresh waits add no other
    assert wiring.refresh.schedule_due() == []
    refreshes = [a for name, a in sender.sent if name == REFRESH_FEED]
    assert refreshes == [[fid]]
    wiring.refresh.refresh(fid)
    assert wiring.feed_store.get(fid).next_due == pytest.approx(time.time() + 300, abs=5)


def test_pages_whose_host_is_busy_are_put_off_not_waited_for(settings: Settings, site: Site) -> None:
    site.publish_news()
    strict = settings.model_copy(update={"host_concurrency": 1, "host_gap_s": 30.0, "host_wait_s": 0.2})
    wiring = Wiring(strict, sender=Recorder())
    try:
        fid = wiring.feeds.add(site.feed_url("gazette"))[0].id
        assert wiring.refresh.refresh(fid).status == "ok"  # the feed took the host's turn
        sender = wiring.dispatch.sender
        assert isinstance(sender, Recorder)
        ids = sender.ingested()
        started = time.monotonic()
        assert wiring.ingest.fetch_pages(ids) == 0  # both pages wait for the host's next turn
        assert time.monotonic() - started < 2.0  # put off, not waited for
        # Each page is put off until its own turn with the host, the turns one gap apart.
        put_off = [(args[0], options["countdown"]) for name, args, options in sender.sent_with_options[-2:]]
        assert all(name == FETCH_PAGES for name, _, _ in sender.sent_with_options[-2:])
        assert sorted(aid for batch, _ in put_off for aid in batch) == sorted(ids)
        turns = sorted(countdown for _, countdown in put_off)
        assert turns[0] > 1.0 and 29.0 <= turns[1] - turns[0] <= 31.0
        assert wiring.articles.pending_entries(ids) and not wiring.articles.clustered(ids)
    finally:
        wiring.close()
    polite = Wiring(settings, sender=Recorder())  # the turn has come
    try:
        assert polite.ingest.fetch_pages(ids) == 2
    finally:
        polite.close()
