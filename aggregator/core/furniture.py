"""Page furniture: the parts of a page's text that are not its story and name other stories.

Text past them describes other events and would glue unrelated stories together, so it is cut before
fingerprinting (the stored text keeps it). Nothing above the text's first line of prose cuts the rest:
pages sometimes open with a "Share" bar or a "Comments" link.
"""

from __future__ import annotations

import re
from collections import Counter

from aggregator.core.text import names_of, term, tokens

# Headings after which a page lists other stories or reader chatter.
_HEADINGS = re.compile(
    (
        r"^\s*(related( articles| stories| news| posts)?|latest news|more (news|stories|from [\w\s]+)|"
        r"read (more|also)|also read|you (may|might) also like|recommended( for you)?|trending( now)?|"
        r"most (read|popular)|top stories|comments?|leave a (comment|reply)|share this( article)?)\s*:?\s*$"
    ).replace(" ", r"\s+"),  # a page may space a heading's words with tabs or several spaces
    re.IGNORECASE,
)

# "Also read: <another story's headline>": one line inside the text, dropped on its own.
_TEASER_LINE = re.compile(
    r"^\s*(also\s+read|read\s+also|read\s+more|also\s+see|see\s+also|must\s+read|related|recommended|watch)"
    r"\s*[:|\-–—]\s*\S",
    re.IGNORECASE,
)

# A page's footer: everything from its copyright or legal links on is the site's, not the story's.
_FOOTER = re.compile(
    r"^\s*(©|\(c\)\s|copyright\s*(©|\(c\)|\d{4})|all rights reserved|"
    r"(terms (of (use|service)|and conditions)|privacy policy)\s*[|•·])",
    re.IGNORECASE,
)
# An ad slot or a sign-up box inside the text: the line goes alone.
_AD_LINE = re.compile(
    r"^\s*(advertisement|sponsored|story continues below|"
    r"subscribe\b.{0,80}\bnewsletter\b.*|sign up (for|to)\b.{0,80})\s*$",
    re.IGNORECASE,
)

# Each line is tried against the two starts of furniture, and each kept line against the two kinds of
# single line, in one match each: most lines match neither, and a failed match costs a call.
_FURNITURE_START = re.compile(f"(?:{_HEADINGS.pattern})|(?:{_FOOTER.pattern})", re.IGNORECASE)
_DROPPED_LINE = re.compile(f"(?:{_TEASER_LINE.pattern})|(?:{_AD_LINE.pattern})", re.IGNORECASE)

_CARD_SPAN = 8  # lines within which a second card must follow: a headline, its twin, a blurb
_TEASER_RUN = 3  # teasers in a row that make a list
_OPENING_WORDS = 100  # the headline and these first words name the story's people and places
_PROSE_WORDS = 4  # words in the first line that counts as the story's text: a sentence, not a bar above it


def strip_furniture(text: str, title: str = "") -> str:
    """Drop everything from the first piece of furniture on, single teaser and ad lines, and the short
    lines above the story's first sentence when the headline is given. Furniture is a heading
    ("Related Articles", "Comments", ...), a footer's copyright or legal links or, with no heading, a
    list of other stories: teaser cards (`_cards_start`) or headline-and-blurb teasers
    (`_teasers_start`). Blank lines go too."""
    lines = [line for line in text.splitlines() if line.strip()]
    stripped = [line.strip() for line in lines]
    heads = _headline_like(stripped)  # each line classified once: most are looked at twice
    # The first line of prose: a line of _PROSE_WORDS words (splitting off its first _PROSE_WORDS - 1
    # leaves a remainder) that is not headline-like. Furniture is looked for only below it.
    cut = _PROSE_WORDS - 1
    proses = (i for i, h in enumerate(heads) if not h and len(lines[i].split(None, cut)) > cut)
    first = next(proses, None)
    # Not a share of the text's length: on a short story a long list of teasers would be that share.
    for i in range(len(lines) if first is None else first + 1, len(lines)):
        if _FURNITURE_START.match(lines[i]) or (heads[i] and _cards_start(stripped, heads, i)):
            lines = lines[:i]
            break
        if heads[i] and _teasers_start(lines, heads, i, title):
            lines = lines[:i]
            break
    # Short lines above the first sentence are a masthead, a menu, a byline: with the headline given,
    # all but the headline go (a site's menu on every page would make its stories alike).
    start = first if title and first is not None else 0
    if all(heads[:start]):
        lines = [x for x in lines[:start] if x.strip() == title.strip()] + lines[start:]
    return "\n".join(x for x in lines if not _DROPPED_LINE.match(x)).strip()


def _headline_like(stripped: list[str]) -> list[bool]:
    """Per stripped line: short, capitalised and not a sentence, a headline or a subhead."""
    return [
        0 < len(line) <= 200
        and line[:1].isupper()
        and not line.rstrip("\"'”’").endswith((".", ",", ";", ":"))
        for line in stripped
    ]


def _cards_start(stripped: list[str], heads: list[bool], i: int) -> bool:
    """Whether a list of teaser cards starts at line `i`: a page's list of other stories often reaches
    the text as card after card whose headline appears twice in a row (the image's alt text, then the
    link). One doubled line may be emphasis; a second one within the next few lines makes it a list.
    `stripped` are the lines stripped, `heads` which are headline-like."""
    return _doubled(stripped, heads, i) and any(
        _doubled(stripped, heads, j) for j in range(i + 2, min(i + _CARD_SPAN, len(stripped)))
    )


def _doubled(stripped: list[str], heads: list[bool], i: int) -> bool:
    """A headline-like line given twice (a pull quote repeats a sentence, not a headline)."""
    return heads[i] and i + 1 < len(stripped) and stripped[i + 1] == stripped[i]


def _teasers_start(lines: list[str], heads: list[bool], i: int, title: str) -> bool:
    """Whether other stories' teasers start at line `i`: headline, blurb (a sentence), headline,
    blurb..., at most one of them naming anyone or anything the headline and the opening words before
    them name more than once. An extractor that drops repeated lines turns cards into this. An
    article's own subheads are followed by paragraphs that keep naming its people and places. `heads`
    says which lines are headline-like."""
    pairs = [(i + 2 * k, i + 2 * k + 1) for k in range(_TEASER_RUN)]
    if pairs[-1][1] >= len(lines) or any(not heads[h] or heads[b] for h, b in pairs):
        return False
    before = "\n".join(lines[:i])
    # Many pages' text repeats the headline as its first line: counted once, it is said once.
    opening = ([] if before.startswith(title) else tokens(title)) + tokens(before)[:_OPENING_WORDS]
    names = names_of(opening)
    # The story's own people and places come up more than once; a name said once ("American" in
    # "American Pie") is as likely to be in another story's teaser.
    said = Counter(term(w.lower()) for w in opening)
    names = frozenset(t for t in names if said[t] > 1) or names
    # One teaser may still name a common place ("Canada"); an article's own sections keep naming its
    # people and places, two in three at least.
    naming = sum(1 for h, b in pairs if names_of(tokens(lines[h]) + tokens(lines[b])) & names)
    return bool(names) and naming <= 1
