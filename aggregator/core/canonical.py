"""Which variant of a story readers see first.

The policy, in order, each step only breaking the ties of the one before:
1. a feed named earlier in the configured priority list (an operator's trust in a source);
2. the wire original, where credits show it: an article whose source *is* a credited wire
   ("Reuters" publishing "(Reuters)") beats one that only credits it, which beats one crediting none;
3. text extracted from the page over a feed summary stand-in, then the most complete clean text;
4. the earliest published (or fetched), then the smallest id so the choice is stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    article_id: str
    feed_id: str
    source: str
    credits: tuple[str, ...]
    from_page: bool
    length: int
    time: float


def _wire_rank(c: Candidate) -> int:
    source = c.source.lower()
    if any(credit.lower() in source for credit in c.credits):
        return 0
    return 1 if c.credits else 2


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

    return min(candidates, key=key).article_id
