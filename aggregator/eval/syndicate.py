"""Syndication for `aggregator eval --syndicate K`: every article of a corpus republished K times, as
other outlets republish wire stories, each copy keeping its source's cluster.

Each copy comes from one made-up outlet and is the source's text verbatim, trimmed to its first
paragraphs, or under another headline, with a byline or a credit line added or not, published minutes
to hours after its source. The choices come from a seeded generator: the same corpus, K and seed give
the same stream. An undated corpus is given one article a minute in its own order first, so that copies
can come "later".
"""

from __future__ import annotations

import random
from dataclasses import replace

from aggregator.core.models import Article
from aggregator.core.text import credits

OUTLETS = (
    "Harbour Courier", "Valley Ledger", "Metro Dispatch", "Coastal Times", "Northern Gazette",
    "Prairie Post", "Capital Observer", "Evening Chronicle", "Lakeside Herald", "Union Tribune",
    "Summit Daily", "River City News",
)  # fmt: skip
WIRES = ("Reuters", "AP", "AFP", "ANI", "IBNS", "PTI")
RETITLE = (
    "{outlet}: {title}",
    "BREAKING: {title}",
    "{title} | {outlet}",
    "{title} - report",
    "WATCH: {title}",
)
BYLINES = ("By Staff Reporter", "By {outlet} Desk", "By a correspondent", "{outlet} News Service")
MIN_DELAY_S, MAX_DELAY_S = 5 * 60, 12 * 3600
COPY_MARK = "~"  # a copy's id is its source's, this mark and the outlet's
UNDATED_SPACING_S = 60.0


def syndicate(rows: list[tuple[Article, str]], copies: int, seed: int = 0) -> list[tuple[Article, str]]:
    """The stream with `copies` republications of every article, in time order (copies after sources)."""
    if copies <= 0:
        return rows
    rng = random.Random(seed)
    dated = [(_dated(a, i), c) for i, (a, c) in enumerate(rows)]
    out = list(dated)
    for article, cluster in dated:
        outlets = rng.sample(OUTLETS, min(copies, len(OUTLETS)))
        for k in range(copies):
            outlet = outlets[k % len(outlets)] + ("" if k < len(outlets) else f" {k // len(outlets) + 1}")
            out.append((_copy(article, k, outlet, rng), cluster))
    out.sort(key=lambda r: r[0].published or 0.0)  # stable: sources stay in their order
    return out


def _dated(a: Article, position: int) -> Article:
    if a.published is not None:
        return replace(a, fetched=a.published)
    t = a.fetched + position * UNDATED_SPACING_S
    return replace(a, published=t, fetched=t)


def _copy(a: Article, k: int, outlet: str, rng: random.Random) -> Article:
    title, text = a.title, a.text
    how = rng.choice(("verbatim", "trimmed", "retitled", "trimmed and retitled"))
    if "trimmed" in how:
        text = _trimmed(text, rng)
    if "retitled" in how and title:
        title = rng.choice(RETITLE).format(outlet=outlet, title=title)
    added = rng.choice(("none", "byline", "credit"))
    if added == "byline" and text:
        text = rng.choice(BYLINES).format(outlet=outlet) + "\n" + text
    elif added == "credit" and text:
        wire = next((c for c in a.credits), rng.choice(WIRES))
        text = text + "\n" + rng.choice((f"({wire})", f"Source: {wire}", f"With inputs from {wire}"))
    t = (a.published or 0.0) + rng.uniform(MIN_DELAY_S, MAX_DELAY_S)
    slug = outlet.lower().replace(" ", "-")
    return replace(
        a, id=f"{a.id}{COPY_MARK}{slug}", url=f"https://{slug}.example/{a.id}", feed_id=slug, title=title,
        text=text, source=outlet, published=t, fetched=t, credits=credits(text),
    )  # fmt: skip


def _trimmed(text: str, rng: random.Random) -> str:
    """The first paragraphs (at least one), or the first sentences of a one-paragraph text."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if len(paragraphs) > 2:
        return "\n".join(paragraphs[: max(2, round(len(paragraphs) * rng.uniform(0.4, 0.7)))])
    sentences = text.split(". ")
    if len(sentences) > 2:
        return ". ".join(sentences[: max(2, round(len(sentences) * rng.uniform(0.4, 0.7)))]) + "."
    return text


def syndicated_from(article_id: str) -> str | None:
    """The source of a copy `syndicate` made, from its id; None for an article of the corpus."""
    source, mark, _ = article_id.rpartition(COPY_MARK)
    return source if mark else None
