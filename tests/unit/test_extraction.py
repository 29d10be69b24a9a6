"""Which page text is taken for the article, and what stands in when it is not the article."""

from __future__ import annotations

from aggregator.core.models import Entry, Extraction
from aggregator.ingest.extract import Extracted, NoText, build_article, extract_page
from aggregator.ingest.metadata import PageMeta

ENTRY = Entry(
    article_id="a1", url="https://www.npr.org/2025/06/28/hikvision", guid=None,
    title="Canada orders Hikvision to cease operations", summary="Ottawa ordered the camera maker out.",
    published=1_750_000_000.0, author=None, source_name=None,
)  # fmt: skip
STORY = " ".join(["Canada ordered the Chinese camera maker Hikvision to wind up its Canadian business."] * 10)


def _page(title: str, text: str) -> Extracted:
    return Extracted(title=title, text=text, author=None, date=None, site_name="NPR")


def test_the_page_text_is_the_article_when_it_looks_like_one() -> None:
    a = build_article(ENTRY, "f", _page("Canada orders Hikvision out", STORY), min_words=50)
    assert (a.extraction, a.extraction_error, a.text) == (Extraction.PAGE, None, STORY)


def test_a_page_titled_with_the_site_s_name_is_not_the_article() -> None:
    for title in ("NPR Search", "NPR", "npr.org"):
        a = build_article(ENTRY, "f", _page(title, STORY), min_words=50)
        assert a.extraction == Extraction.FAILED and "site's name" in (a.extraction_error or ""), title
        assert a.text == ENTRY.summary and a.title == ENTRY.title
    assert build_article(
        ENTRY, "f", _page("NPR reports Canada orders Hikvision out", STORY), 50
    ).extraction == (Extraction.PAGE)


def test_a_page_text_under_the_floor_is_not_the_article() -> None:
    a = build_article(ENTRY, "f", _page("Hikvision", "Subscribe to read the rest of this story today."), 50)
    assert a.extraction == Extraction.FAILED and "under the floor of 50" in (a.extraction_error or "")
    assert a.text == ENTRY.summary


def test_an_unavailable_page_leaves_the_summary_and_says_why() -> None:
    a = build_article(ENTRY, "f", NoText("page not fetched: HTTP 410"), min_words=50)
    assert (a.extraction, a.extraction_error, a.text) == (
        Extraction.SUMMARY,
        "page not fetched: HTTP 410",
        ENTRY.summary,
    )


def test_a_page_s_head_gives_its_title_site_and_author() -> None:
    from aggregator.ingest.metadata import page_meta

    page = (
        "<html><head><title>Kestrel Bridge shut | The Harbour Gazette</title>"
        "<meta content='The Harbour Gazette' property='og:site_name'>"
        '<meta name="Author" content="Ilse &amp; Co">'
        "</head><body><p>text</p></body></html>"
    )
    assert page_meta(page) == PageMeta("Kestrel Bridge shut", "The Harbour Gazette", "Ilse & Co")
    og = '<head><meta property="og:title" content="Cables cracked"><title>x</title></head>'
    assert page_meta(og).title == "Cables cracked"
    assert page_meta("<p>no head at all</p>") == PageMeta(None, None, None)


def test_the_fixture_pages_give_their_text_title_and_site() -> None:
    from tests.fixtures.site import page
    from tests.fixtures.stories import WIRE_BODY, WIRE_TITLE

    got = extract_page(page("gazette", WIRE_TITLE, WIRE_BODY).encode(), "http://x/bridge.html")
    assert isinstance(got, Extracted)
    assert (got.title, got.site_name, got.date) == (WIRE_TITLE, "The Harbour Gazette", None)
    assert "deep cracks in two of its main suspension cables" in got.text
    assert "Subscribe" not in got.text and "All rights reserved" not in got.text  # the page's furniture
    dated = page("gazette", WIRE_TITLE, WIRE_BODY).replace(
        "<head>", '<head><meta property="article:published_time" content="2025-06-28T18:00:00+00:00">'
    )
    with_date = extract_page(dated.encode(), "http://x/bridge.html", want_date=True)
    assert isinstance(with_date, Extracted) and with_date.date == 1751068800.0  # the day (htmldate)


def test_outlet_names_keep_their_case() -> None:
    from aggregator.ingest.metadata import page_meta

    ibns = page_meta('<head><meta property="og:site_name" content="IBNS"><title>x | IBNS</title></head>')
    entry = Entry(
        article_id="a2", url="https://www.ibns.example/news/1", guid=None, title="Hikvision told to go",
        summary="s", published=None, author=None, source_name="ANI",
    )  # fmt: skip
    page = Extracted(
        title="Hikvision told to go", text=STORY, author=None, date=None, site_name=ibns.site_name
    )
    article = build_article(entry, "f", page, min_words=50)
    assert (article.source, article.credits) == ("IBNS", ("ANI",))
