"""The fetcher against a real local server: outcomes as values, limits as errors."""

from __future__ import annotations

import pytest

from aggregator.errors import BlockedAddress, FetchError, ParseError, TemporaryFetchError
from aggregator.ingest.fetch import Fetched, Fetcher, NotModified
from aggregator.ingest.parse import parse_feed
from aggregator.settings import Settings, get_settings
from tests.fixtures.site import Site


def _fetcher(**kw: object) -> Fetcher:
    base: dict[str, object] = {"allow_private_hosts": True, "total_timeout_s": 5}
    base.update(kw)
    return Fetcher(get_settings(**base))


def test_conditional_get_gives_not_modified(site: Site) -> None:
    site.publish_news()
    f = _fetcher()
    first = f.get(site.feed_url("wire"), 100_000)
    assert isinstance(first, Fetched) and first.etag
    again = f.get(site.feed_url("wire"), 100_000, etag=first.etag)
    assert isinstance(again, NotModified)


def test_private_addresses_are_refused_unless_allowed(site: Site) -> None:
    site.publish_news()
    with pytest.raises(BlockedAddress):
        _fetcher(allow_private_hosts=False).get(site.feed_url("wire"), 100_000)
    with pytest.raises(BlockedAddress):
        _fetcher(allow_private_hosts=False).get("file:///etc/passwd", 100_000)


def test_body_over_the_cap_is_refused(site: Site) -> None:
    site.set("/big", "x" * 50_000)
    with pytest.raises(FetchError, match="exceeds"):
        _fetcher().get(f"{site.base}/big", 10_000)


def test_server_errors_are_temporary_and_carry_retry_after(site: Site) -> None:
    site.routes["/busy"] = (429, {"Retry-After": "120"}, b"slow down")
    with pytest.raises(TemporaryFetchError) as info:
        _fetcher().get(f"{site.base}/busy", 10_000)
    assert info.value.retry_after_s == 120
    site.set("/gone", "gone", status=410)
    with pytest.raises(FetchError) as gone:
        _fetcher().get(f"{site.base}/gone", 10_000)
    assert not isinstance(gone.value, TemporaryFetchError)


def test_redirects_are_followed_and_checked(site: Site) -> None:
    site.publish_news()
    site.routes["/moved"] = (301, {"Location": "/wire/feed.xml"}, b"")
    got = _fetcher().get(f"{site.base}/moved", 100_000)
    assert isinstance(got, Fetched) and got.url.endswith("/wire/feed.xml")
    site.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(FetchError, match="redirects"):
        _fetcher().get(f"{site.base}/loop", 100_000)


def test_parse_rejects_garbage_and_reads_entries(site: Site, settings: Settings) -> None:
    with pytest.raises(ParseError):
        parse_feed(b"\x00\x01 not a feed \xff", "http://x/")
    site.publish_news()
    got = _fetcher().get(site.feed_url("gazette"), 100_000)
    assert isinstance(got, Fetched)
    parsed = parse_feed(got.body, got.url)
    assert parsed.title == "The Harbour Gazette"
    assert [e.url.rsplit("/", 1)[1] for e in parsed.entries] == ["bridge.html", "orchard.html"]
    assert all(e.published for e in parsed.entries)
