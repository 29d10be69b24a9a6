"""The fetcher against a real local server: outcomes as values, limits as errors."""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import socket
import time
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpcore
import httpx
import pytest

from aggregator.errors import BlockedAddress, FetchError, ParseError, TemporaryFetchError
from aggregator.ingest import network
from aggregator.ingest.extract import Extracted, NoText, extract_page
from aggregator.ingest.fetch import Fetched, Fetcher, NotModified
from aggregator.ingest.parse import parse_feed
from aggregator.ingest.transport import PoolTransport
from aggregator.settings import Settings, defaults
from tests.fixtures.site import Site


def _fetcher(**kw: object) -> Fetcher:
    base: dict[str, object] = {"allow_private_hosts": True, "total_timeout_s": 5}
    base.update(kw)
    return Fetcher(defaults(**base))


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


def _gzip_zeros(size: int) -> bytes:
    """`size` zero bytes, gzipped in a stream (the plain bytes never exist in memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    out = [z.compress(chunk) for _ in range(size >> 20)]
    return b"".join(out) + z.flush()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    return _gzip_zeros(1 << 30)  # 1 GiB decoded


def _serve_encoded(site: Site, path: str, body: bytes, encoding: str) -> None:
    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": encoding}
    site.routes[path] = (200, headers, body)


def test_gzip_chain_is_refused(site: Site, gzip_bomb: bytes) -> None:
    chained = gzip.compress(gzip_bomb)  # 1 GiB behind two layers
    assert len(chained) < 10_000
    _serve_encoded(site, "/chain.xml", chained, "gzip, gzip")
    with pytest.raises(FetchError, match="content encodings"):
        _fetcher().get(f"{site.base}/chain.xml", 5_000_000)


def _refused_at_cap(url: str, cap: int) -> tuple[int, float]:
    """Fetch `url`, expecting it refused at `cap`; returns the traced peak memory and the seconds taken."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match="exceeds"):
            _fetcher().get(url, cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, time.monotonic() - started


def test_gzip_bomb_stops_at_the_cap_with_memory_bounded(site: Site, gzip_bomb: bytes) -> None:
    _serve_encoded(site, "/bomb.xml", gzip_bomb, "gzip")
    peak, _ = _refused_at_cap(f"{site.base}/bomb.xml", 5_000_000)
    assert peak < 32 * 2**20  # a few times the 5 MB cap, not the 1 GiB the body inflates to


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><link>http://x/1</link></item></channel></rss>"""


def test_entity_declarations_are_refused_before_parsing(site: Site) -> None:
    big = b"A" * 100_000
    quadratic = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + big + b'">]><rss version="2.0"><channel>'
        + b"<title>" + b"&a;" * 2000 + b"</title></channel></rss>"
    )  # fmt: skip
    for name, body in (("laughs", BILLION_LAUGHS), ("quadratic", quadratic)):
        site.set(f"/{name}.xml", body, ctype="application/rss+xml")
        fetched = _fetcher().get(f"{site.base}/{name}.xml", 5_000_000)
        assert isinstance(fetched, Fetched)
        with pytest.raises(ParseError, match="entities"):
            parse_feed(fetched.body, fetched.url)
    utf16 = (
        BILLION_LAUGHS.decode().replace('version="1.0"?', 'version="1.0" encoding="utf-16"?').encode("utf-16")
    )
    with pytest.raises(ParseError, match="entities"):
        parse_feed(utf16, "http://x/")


def test_gzip_and_deflate_bodies_are_decoded(site: Site) -> None:
    text = b"<rss version='2.0'><channel><title>ok</title></channel></rss>" * 50
    _serve_encoded(site, "/gz.xml", gzip.compress(text), "gzip")
    _serve_encoded(site, "/df.xml", zlib.compress(text), "deflate")
    for path in ("/gz.xml", "/df.xml"):
        fetched = _fetcher().get(f"{site.base}{path}", 100_000)
        assert isinstance(fetched, Fetched) and fetched.body == text


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0177.0.0.1", "0.0.0.0", "localhost",
     "169.254.169.254", "10.0.0.1", "172.16.0.1", "192.168.1.1",
     # IPv6 forms that reach IPv4 or are deprecated: NAT64 (well-known, local-use), 6to4, IPv4-compatible,
     # SIIT, site-local, Teredo (its client 127.0.0.1, obfuscated)
     "[64:ff9b::7f00:1]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b:1::a00:1]", "[2002:7f00:1::]", "[::7f00:1]",
     "[::ffff:0:7f00:1]", "[fec0::1]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]"],
)  # fmt: skip
def test_private_address_forms_are_refused(site: Site, host: str) -> None:
    port = site.base.rsplit(":", 1)[1]
    with pytest.raises(BlockedAddress):
        _fetcher(allow_private_hosts=False).get(f"http://{host}:{port}/wire/feed.xml", 100_000)


def test_the_connected_address_is_checked_not_only_the_first_answer(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers a public address to the check, then loopback to the connection."""
    site.publish_news()
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host: str, port: object, *args: object, **kw: object) -> Any:
        if host == "rebind.test":
            return real(next(answers, "127.0.0.1"), port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = site.base.rsplit(":", 1)[1]
    with pytest.raises(BlockedAddress, match="127.0.0.1"):
        _fetcher(allow_private_hosts=False).get(f"http://rebind.test:{port}/wire/feed.xml", 100_000)
    assert site.count("/wire/feed.xml") == 0  # nothing reached the loopback server


def test_ipv6_forms_are_judged_by_the_ipv4_address_they_reach() -> None:
    public = ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111", "8.8.8.8"]
    refused = [
        "64:ff9b::a00:1",
        "2002:a9fe:a9fe::",
        "::808:808",
        "::ffff:0:808:808",
        "fec0::1",
        "64:ff9b:1::808:808",
    ]
    assert [network.is_public(ipaddress.ip_address(a)) for a in public] == [True] * len(public)
    assert [network.is_public(ipaddress.ip_address(a)) for a in refused] == [False] * len(refused)


def test_every_address_of_a_name_is_tried_until_one_answers(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first address refuses the connection; the second serves. (Loopback stands in for public
    addresses here: nothing leaves the machine.)"""
    site.publish_news()
    real = socket.getaddrinfo

    def two(host: str, port: object, *args: object, **kw: object) -> Any:
        if host == "two.test":
            return [*real("127.0.0.2", port, *args, **kw), *real("127.0.0.1", port, *args, **kw)]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", two)
    monkeypatch.setattr(network, "is_public", lambda ip: ip.is_loopback)
    port = site.base.rsplit(":", 1)[1]
    fetched = _fetcher(allow_private_hosts=False).get(f"http://two.test:{port}/wire/feed.xml", 100_000)
    assert isinstance(fetched, Fetched) and site.count("/wire/feed.xml") == 1


def test_monster_pages_do_not_reach_the_parser(site: Site) -> None:
    nested = b"<html><body>" + b"<p>" * 300_000 + b"words " * 100 + b"</p>" * 300_000 + b"</body></html>"
    assert len(nested) < 3_000_000  # under the page cap: the element bound must stop it
    site.set("/nested.html", nested)
    fetched = _fetcher().get(f"{site.base}/nested.html", 3_000_000)
    assert isinstance(fetched, Fetched)
    skipped = extract_page(fetched.body, fetched.url, max_elements=100_000)
    assert isinstance(skipped, NoText) and "tags" in skipped.reason
    site.set("/huge.html", b"<div>" * 4_000_000)  # 20 MB
    with pytest.raises(FetchError, match="exceeds"):
        _fetcher().get(f"{site.base}/huge.html", 3_000_000)
    page = (
        b"<html><body><article><p>"
        + b"A sentence of real news text here. " * 20
        + b"</p></article></body></html>"
    )
    ok = extract_page(page, "http://x/", max_elements=100_000)
    assert isinstance(ok, Extracted) and "real news" in ok.text
    short = extract_page(b"<html><body><p>Cookies?</p></body></html>", "http://x/")
    assert isinstance(short, NoText) and short.reason


def _dribble(at_once: bytes, dribbled: bytes, every_s: float) -> Any:
    """A handler writing a raw answer: `at_once`, then `dribbled` one byte every `every_s`."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        with contextlib.suppress(OSError):  # the fetcher hung up: what it should do
            _raw(request, at_once)
            for k in range(len(dribbled)):
                _raw(request, dribbled[k : k + 1])
                time.sleep(every_s)

    return handler


def _raw(request: BaseHTTPRequestHandler, data: bytes) -> None:
    request.wfile.write(data)
    request.wfile.flush()


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_server_sending_a_byte_at_a_time_is_cut_at_the_total_deadline(site: Site, part: str) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n"
    if part == "headers":  # the status line and headers themselves, one byte every 0.2 s
        site.routes["/slow"] = _dribble(b"", head + b"X-Pad: " + b"a" * 10_000 + b"\r\n\r\n", 0.2)
    else:  # the headers at once, then a body byte every 0.2 s
        site.routes["/slow"] = _dribble(head + b"\r\n", b"x" * 100_000, 0.2)
    fetcher = _fetcher(total_timeout_s=1.5, read_timeout_s=10)  # each read alone may wait 10 s
    started = time.monotonic()
    with pytest.raises(TemporaryFetchError, match="timed out"):
        fetcher.get(f"{site.base}/slow", 5_000_000)
    elapsed = time.monotonic() - started
    print(f"trickled {part}: cut after {elapsed:.2f} s (deadline 1.5 s)")
    assert 1.4 < elapsed < 2.5


def test_an_endless_body_stops_at_the_cap_with_memory_bounded(site: Site) -> None:
    def endless(request: BaseHTTPRequestHandler) -> None:
        _raw(request, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n")  # no length: read to close
        chunk = b"<p>more</p>" * 6000
        with contextlib.suppress(OSError):
            while True:
                request.wfile.write(chunk)

    site.routes["/endless"] = endless
    peak, elapsed = _refused_at_cap(f"{site.base}/endless", 3_000_000)
    print(f"endless body: cut at the 3 MB cap after {elapsed * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB")
    assert peak < 20 * 2**20


def test_a_webhook_receivers_endless_answer_is_not_read(site: Site) -> None:
    """Only the status of a delivery's answer matters: a receiver answering without end costs a few KB."""

    def endless(request: BaseHTTPRequestHandler) -> None:
        _raw(request, b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
        chunk = b"x" * 65536
        with contextlib.suppress(OSError):
            while True:
                request.wfile.write(chunk)

    site.routes["/hook"] = endless
    tracemalloc.start()
    started = time.monotonic()
    try:
        status = _fetcher().post(f"{site.base}/hook", b"{}", {"Content-Type": "application/json"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    print(f"endless webhook answer: status read after {elapsed * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB")
    assert status == 200 and elapsed < 2 and peak < 5 * 2**20


def test_the_pool_transport_answers_in_httpx_terms(site: Site) -> None:
    site.set("/plain", "hello")
    with httpx.Client(transport=PoolTransport(httpcore.ConnectionPool())) as client:
        resp = client.get(f"{site.base}/plain")
        assert (resp.status_code, resp.text) == (200, "hello")
        with pytest.raises(httpx.ConnectError):
            client.get("http://127.0.0.1:9/")
        with pytest.raises(httpx.UnsupportedProtocol):
            client.get("ftp://127.0.0.1/")
