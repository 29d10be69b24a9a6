"""Property-based tests (Hypothesis) of what parses input: whatever comes in, the outcome is a value or
the project's own error for bad input, never another exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.api.routes.events import is_stream_id
from aggregator.core.identity import normalise_url
from aggregator.errors import InvalidInput, ParseError
from aggregator.ingest.parse import parse_feed
from aggregator.store.views import offset

# URLs near valid ones find more than random text: a scheme, a host of odd characters, a port, a path.
urlish = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
    st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    st.text(min_size=0, max_size=70),
    st.one_of(
        st.just(""), st.integers(-5, 99_999).map(lambda p: f":{p}"), st.text(max_size=6).map(":".__add__)
    ),
    st.text(max_size=40),
)


@given(st.one_of(urlish, st.text(max_size=200)))
@settings(max_examples=400)
def test_normalise_url_gives_a_url_or_says_why(url: str) -> None:
    try:
        once = normalise_url(url)
    except InvalidInput as exc:
        assert str(exc)
        return
    assert once.startswith(("http://", "https://"))
    assert normalise_url(once) == once  # a normalised URL is its own normal form


@given(st.one_of(st.none(), st.text(max_size=30), st.integers(-(10**30), 10**30).map(str)))
def test_an_offset_cursor_is_a_small_number_or_invalid(cursor: str | None) -> None:
    try:
        value = offset(cursor)
    except InvalidInput:
        return
    assert 0 <= value <= 10**9


@given(st.text(max_size=50))
def test_an_event_id_is_two_64_bit_numbers(value: str) -> None:
    if is_stream_id(value):
        parts = value.split("-")
        assert len(parts) <= 2 and all(p.isascii() and p.isdigit() and int(p) < 2**64 for p in parts)


@given(
    st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(lambda t: f"<rss><channel>{t}".encode()))
)
@settings(max_examples=300)
def test_parse_feed_reads_or_says_why(body: bytes) -> None:
    try:
        parsed = parse_feed(body, "http://127.0.0.1/feed")
    except ParseError as exc:
        assert str(exc)
        return
    for entry in parsed.entries:
        assert entry.url.startswith(("http://", "https://"))


def test_parse_feed_gives_plain_text_whatever_html_an_entry_holds() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Herald</title><item>
<title type="html">&lt;b&gt;Ferry&lt;/b&gt; returns</title><link>http://127.0.0.1/ferry.html</link>
<description><![CDATA[<p onclick="alert(1)">The ferry <a href="timetable.html">sails</a> again.</p>
<script>alert(2)</script><style>p { color: red }</style>]]></description></item></channel></rss>"""
    (entry,) = parse_feed(body, "http://127.0.0.1/feed.xml").entries
    assert entry.title == "Ferry returns"
    assert entry.summary == "The ferry sails again."
