"""Which page text is taken for the article, and what stands in when it is not the article."""

from __future__ import annotations

from aggregator.core.models import Entry, Extraction
from aggregator.ingest.extract import Extracted, NoText, build_article

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
