"""Which variant of a story readers see first.

A copy is never canonical over the article it copies: each group of copies (a member and its copies,
copies of copies too) puts forward only its source, the one that is the credited wire, else the earliest.
Among those, in order, each step only breaking the ties of the one before:
1. a feed named earlier in the configured priority list (an operator's trust in a source);
2. the wire original, where credits show it: an article whose source *is* a credited wire
   ("Reuters" publishing "(Reuters)") beats one that only credits it, which beats one crediting none;
3. text extracted from the page over a feed summary stand-in, then the most complete clean text;
4. the earliest published (or fetched), then the smallest id so the choice is stable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aggregator.core.copies import copy_groups


@dataclass(frozen=True)
class Candidate:
    article_id: str
    feed_id: str
    source: str
    credits: tuple[str, ...]
    from_page: bool
    length: int
    time: float
    copy_of: str | None = None  # the article it joined the story as a copy of


def _wire_rank(c: Candidate) -> int:
    """0: the credited wire itself ("Reuters" running "(Reuters)"), 1: crediting one, 2: crediting none.
    Credits match whole words of the source: "AP" is not in "Capital"."""
    if any(re.search(rf"\b{re.escape(credit)}\b", c.source, re.IGNORECASE) for credit in c.credits):
        return 0
    return 1 if c.credits else 2


def sources(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Each group of copies' source: the credited wire, else the earliest, else the one not copied from
    another, else the smallest id."""
    group = copy_groups({c.article_id: c.copy_of for c in candidates})
    best: dict[str, Candidate] = {}
    # Crediting a wire does not make a copy its source: only being the wire does. At equal times, the
    # article the others were copied from.
    linked = {c.article_id: c.copy_of in group for c in candidates}
    for c in sorted(
        candidates, key=lambda c: (_wire_rank(c) > 0, c.time, linked[c.article_id], c.article_id)
    ):
        best.setdefault(group[c.article_id], c)
    return list(best.values())


def choose(candidates: Sequence[Candidate], feed_priority: Sequence[str] = ()) -> str:
    if not candidates:
        raise ValueError("a story has at least one article")
    rank = {feed: i for i, feed in enumerate(feed_priority)}

    def key(c: Candidate) -> tuple[int, int, int, int, float, str]:
        return (
            rank.get(c.feed_id, len(rank)),
            _wire_rank(c),
            0 if c.from_page else 1,
            -c.length,
            c.time,
            c.article_id,
        )

    return min(sources(candidates), key=key).article_id
