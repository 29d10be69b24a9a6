"""Bad feeds, each served over real HTTP: every one gets a clear error on its own status, stores no
entry, and the good feeds polled alongside go on."""

from __future__ import annotations

import time

import pytest

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
