from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.core import text
from aggregator.core.furniture import strip_furniture
from aggregator.core.identity import article_id, feed_id, normalise_url
from aggregator.core.text import plain_line
from aggregator.core.timestamps import iso_time, seconds, with_iso_times
from aggregator.errors import InvalidInput
from tests.fixtures.stories import UNRELATED


def test_furniture_after_related_heading_is_cut() -> None:
    body = "Storm hits the coast.\nRoofs were torn off in Lenmouth.\nRelated Articles\nChess prodigy wins\n"
    assert strip_furniture(body) == "Storm hits the coast.\nRoofs were torn off in Lenmouth."
    spaced = body.replace("Related Articles", "  Related \t Articles :")  # as a page may lay it out
    assert (
        strip_furniture(text.normalise(spaced)) == "Storm hits the coast.\nRoofs were torn off in Lenmouth."
    )


def test_furniture_heading_near_the_top_is_kept() -> None:
    body = "Comments\n" + "A long article about the harbour and its ferries. " * 10
    assert strip_furniture(body).startswith("Comments")


def test_terms_drop_stopwords_numbers_and_stem() -> None:
    found = {
        text.term(w.lower()) for w in text.tokens("The sanctions on Canada's firms, said 2025 officials")
    }
    assert found == {"", "sanction", "canada", "firm", "official"}


def test_terms_of_many_words_are_each_words_term() -> None:
    words = ["the", "us", "is", "as", "ss", "series", "policies", "bus", "crisis", "it's", "says"]
    words += ["saids", "2025", "x", "xs", "ores", "i's", "canada's", "12s", "", "s", "'s", "news"]
    words += ["bias", "pass", "ies", "flies", "sanctions", "a1", "x9"]
    assert text.terms(words) == [text.term(w) for w in words]
    assert text.terms(["sanctions", "the", "ferry"]) == ["sanction", "", "ferry"]


def test_credits_find_wires() -> None:
    assert text.credits("OTTAWA (Reuters) - The government...") == ("Reuters",)
    assert text.credits("Based on ANI report", "IBNS") == ("ANI", "IBNS")
    assert text.credits("A plain local story") == ()
    # Any wire's dateline, at the start of a paragraph.
    assert text.credits("Bridge shut\nNORVALE (Meridian Wire) - The city...") == ("Meridian Wire",)
    assert text.credits("WASHINGTON (CNN) — Talks...", "ANI") == ("CNN", "ANI")
    assert text.credits("He left (quietly) - as one does. I (John) - no.") == ()


_CREDIT_BITS = [
    "(Reuters)", "/ REUTERS", "Reuters -", "Reuters—", "Reporting by", "reuters -", "(AP)", "(ap)",
    "Associated Press", "(AFP)", "AFP –", "Agence France-Presse", "(ANI)", "(ani)", "based on Ani report",
    "ANI -", "Pakistani -", "(IBNS)", "IBNSX", "(PTI)", "PTI—", "option", "Ani", " ", "\n", "x", ".",
]  # fmt: skip


@given(st.lists(st.sampled_from(_CREDIT_BITS), max_size=12), st.text(max_size=20))
def test_credits_find_what_each_pattern_finds(bits: list[str], noise: str) -> None:
    """The words that spare most texts a search never hide a credit the pattern alone would find."""
    body = noise.join(bits)
    expected = [name for name, _, pattern in text._CREDIT_PATTERNS if pattern.search(body)]
    assert list(text.credits(body))[: len(expected)] == expected


def test_url_normalisation_drops_tracking_and_fragment() -> None:
    a = normalise_url("HTTPS://Example.com:443/news/a?utm_source=x&b=2&a=1#top")
    assert a == "https://example.com/news/a?a=1&b=2"
    assert article_id("https://example.com/news/a?a=1&b=2&fbclid=z") == article_id(a)
    assert feed_id("http://example.com/feed") != feed_id("http://example.com/feed2")


def test_a_url_that_cannot_be_fetched_is_refused_saying_why() -> None:
    cases = {
        "ftp://example.com/file": "http(s)",
        "http://127.0.0.1:99999/x": "Port out of range",
        "http://127.0.0.1:-1/x": "Port",
        "http://example.com:abc/x": "Port",
        "http://[::1/x": "IPv6",
        f"http://{'x' * 64}.example/": "label",
        "http://a..b/": "label",
        "http://exa\x00mple.com/": "control characters",
    }
    for url, words in cases.items():
        with pytest.raises(InvalidInput, match=re.escape(words)):
            article_id(url)
    assert normalise_url("http://[::1]:8080/feed") == "http://[::1]:8080/feed"  # brackets kept


def test_plain_text_leaves_no_markup_even_escaped_but_keeps_the_words() -> None:
    assert text.plain_text("3 < 5 and 6 > 2; AT&amp;T") == "3 < 5 and 6 > 2; AT&T"
    assert text.plain_text("<p onclick='x()'>One</p>\n\n<b>Two</b>  three") == "One\n\nTwo three"
    assert text.plain_text("&lt;script&gt;alert(1)&lt;/script&gt;Ferry") == "Ferry"
    assert text.plain_text("Ferry &amp;lt;img src=x onerror=alert(2)&amp;gt;returns") == "Ferry returns"
    assert text.plain_text('<a href="javascript:alert(3)">timetable</a>') == "timetable"
    assert text.plain_text("<style>p { color: red }</style>Text<script>") == "Text"
    assert text.plain_text("Unclosed <img src=x onerror=alert(4)\nnext line") == "Unclosed\nnext line"
    assert text.plain_text("a\tb  c \t d\n e\xa0f ") == "a b c d\ne\xa0f"  # runs of blanks, not NBSP


@given(
    st.lists(
        st.sampled_from(["word", "Wörd", "3", " ", "  ", "\t", "\n", "\n\n", "\xa0", "\u2003"]), max_size=30
    )
)
def test_plain_text_puts_one_space_between_words_and_keeps_line_breaks(parts: list[str]) -> None:
    value = "".join(parts)
    out = text.plain_text(value)
    lines = out.split("\n")
    assert [line.split() for line in lines] == [line.split() for line in value.strip().split("\n")]
    assert all("  " not in line and "\t" not in line and line == line.strip() for line in lines)
    assert out == out.strip()


def test_fast_ascii_tokens_equal_the_word_regex() -> None:
    # `tokens` takes a byte-table path for ASCII text; it must cut exactly where the regex does.
    rng = random.Random(5)
    samples = ["'fixed ' it's rock'n'roll don't_stop a__b ''x'' x''y 5'6 end'", "Canada's 3 < 5 e-mail", ""]
    samples += ["".join(rng.choice("ab1 '_-.\n\t'") for _ in range(rng.randint(0, 30))) for _ in range(5000)]
    samples.append("Zoë's café, naïve 'déjà vu'")  # not ASCII: the regex itself
    for sample in samples:
        assert text.tokens(sample) == text._WORD.findall(sample), sample


_STORY = "\n".join(
    [
        "Harbour ferry sinks off Lenmouth",
        "A passenger ferry sank off Lenmouth on Tuesday after striking the harbour wall.",
        "All forty passengers were rescued by lifeboat crews, the coastguard said.",
        "The operator has suspended its crossings while inspectors examine the hull.",
    ]
)


def test_a_list_of_teaser_cards_is_cut_without_a_heading() -> None:
    # Card layouts often reach the text as headline, the same headline again, a blurb.
    cards = [
        "Chess prodigy wins the national title",
        "Chess prodigy wins the national title",
        "The twelve-year-old beat three grandmasters.",
        "",
        "Storm closes mountain pass for a week",
        "Storm closes mountain pass for a week",
        "Snow blocked the road on Monday.",
    ]
    assert strip_furniture(_STORY + "\n\n" + "\n".join(cards)) == _STORY


def test_repeated_sentences_and_a_single_doubled_line_are_not_cards() -> None:
    quote = '"We will rebuild the pier," the mayor said.'
    pull_quotes = f"{quote}\n{quote}\nThe council meets on Friday.\n{quote}\n{quote}"
    body = _STORY + "\n" + pull_quotes
    assert strip_furniture(body) == body
    subhead = "What happens next\nWhat happens next"  # once only: emphasis, not a list
    body = _STORY + "\n" + subhead + "\nThe inquiry reports in May.\n" + _STORY
    assert strip_furniture(body) == body


def test_an_also_read_line_inside_the_text_goes_alone() -> None:
    body = _STORY.replace("\nAll forty", "\nALSO READ | Chess prodigy wins the national title\nAll forty")
    body = body.replace("\nThe operator", "\nRead more: Storm closes mountain pass\nThe operator")
    assert strip_furniture(body) == _STORY


def test_headline_and_blurb_teasers_are_cut_without_a_heading() -> None:
    # What an extractor that drops repeated lines leaves of a card list: headline, blurb, headline...
    teasers = "\n".join(f"{title}\n{body.split('. ')[0]}." for title, body in UNRELATED.values())
    story = _STORY + "\nDivers from Lenmouth will survey the wreck on Thursday, weather permitting."
    assert strip_furniture(story + "\n" + teasers, "Harbour ferry sinks off Lenmouth") == story


def test_an_articles_own_subheads_are_not_teasers() -> None:
    sections = [
        "Rescue",
        "Lifeboat crews from Lenmouth reached the ferry within minutes.",
        "Inquiry",
        "The Lenmouth harbour master opened an inquiry on Wednesday.",
        "What comes next",
        "The operator says crossings from Lenmouth resume in May.",
    ]
    body = _STORY + "\n" + "\n".join(sections)
    assert strip_furniture(body, "Harbour ferry sinks off Lenmouth") == body


def test_a_long_list_after_a_short_story_is_cut() -> None:
    # The list is four times the story's length: a rule protecting a share of the text would keep it.
    teasers = "\n".join(f"{title}\n{body}" for title, body in UNRELATED.values())
    body = _STORY + "\nRelated Articles\n" + teasers + "\n" + teasers
    assert strip_furniture(body, "Harbour ferry sinks off Lenmouth") == _STORY
    # Above the story's first line of prose a share bar does not cut, however long the page.
    bar = "Share this article\nComments\n"
    assert strip_furniture(bar + body) == bar + _STORY


def test_teasers_naming_a_place_the_story_mentions_once_are_still_cut() -> None:
    title = "British ferry sinks off Lenmouth"
    story = _STORY.replace("Harbour ferry sinks off Lenmouth", title)
    # The first teaser names "British", said once: in the headline, which the text repeats as its first
    # line. The third names Lenmouth, the story's own place, but one teaser in three is no section of it.
    teasers = [(t, b.split(". ")[0] + ".") for t, b in UNRELATED.values()]
    teasers[0] = (teasers[0][0], "British growers picked their largest winter crop on record.")
    teasers[2] = ("Lenmouth council approves new harbour wall", "Work starts in spring.")
    listed = "\n".join(f"{title}\n{blurb}" for title, blurb in teasers * 2)
    assert strip_furniture(story + "\n" + listed, title) == story


def test_a_masthead_above_the_story_and_a_footer_below_it_go() -> None:
    menu = "Lenmouth Gazette\nHome\nNews\nSport\nBy Staff Reporter\nUpdated 10:04, 3 May"
    footer = "© 2025 Lenmouth Gazette. All rights reserved.\nTerms of Use | Privacy Policy | Contact"
    ad = "\nAdvertisement\nSubscribe to the Gazette's morning newsletter\n"
    body = menu + "\n" + _STORY.replace("\nAll forty", ad + "All forty") + "\n" + footer
    assert strip_furniture(body, "Harbour ferry sinks off Lenmouth") == _STORY
    # With no headline given, the lines above the story are all there is of it: they stay.
    assert strip_furniture(body) == menu + "\n" + _STORY


def test_a_json_log_line_carries_the_call_s_fields() -> None:
    import json
    import logging

    from aggregator.logs import JsonFormatter

    record = logging.LogRecord("aggregator.x", logging.INFO, "f.py", 1, "feed %s refreshed", ("f1",), None)
    record.__dict__.update({"feed": "f1", "new": 3})
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "feed f1 refreshed" and (line["feed"], line["new"]) == ("f1", 3)
    assert (line["level"], line["logger"]) == ("info", "aggregator.x") and "args" not in line


def test_hidden_characters_leave_titles() -> None:
    assert plain_line("\u202eevil\u202c title\x00 \u2066x\u2069") == "evil title x"
    assert (
        plain_line("\u05e9\u05dc\u05d5\u05dd") == "\u05e9\u05dc\u05d5\u05dd"
    )  # right-to-left text itself stays


def test_percent_escapes_of_plain_characters_are_the_characters() -> None:
    assert normalise_url("http://Example.com./%72ss/%7Efeed") == "http://example.com/rss/~feed"
    assert normalise_url("http://example.com/a%2fb") == "http://example.com/a%2Fb"  # a slash stays escaped


def test_a_trailing_slash_names_the_same_feed_and_page_but_the_root_stays() -> None:
    assert feed_id("http://example.com/rss/") == feed_id("http://example.com/rss")
    assert article_id("http://example.com/news/1/") == article_id("http://example.com/news/1")
    assert feed_id("http://example.com/") == feed_id("http://example.com")
    assert feed_id("http://example.com/a/") != feed_id("http://example.com/b")
    assert normalise_url("http://example.com/rss/") == "http://example.com/rss/"  # fetched as given


def test_times_are_shown_as_iso_8601_utc_and_read_back() -> None:
    assert iso_time(1750000000.721) == "2025-06-15T15:06:40.721Z"
    assert seconds("2025-06-15T15:06:40.721Z") == pytest.approx(1750000000.721)
    shown = with_iso_times({"updated": 0, "score": 0.5, "items": [{"published": None, "time": 1.5}]})
    assert shown == {"updated": "1970-01-01T00:00:00.000Z", "score": 0.5,
                     "items": [{"published": None, "time": "1970-01-01T00:00:01.500Z"}]}  # fmt: skip
