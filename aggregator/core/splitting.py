"""Story splitting: a join that the story's later articles show was wrong is undone.

Stories are decided one article at a time, and the first article of a second event of the same kind
(another boxing title defence, the next actor cast in the same role) can clear the join threshold
against the first event's story; every later article of the second event then follows it in. One
article cannot tell, but a story's members can: if they fall into two groups, each much closer to
its own group than to the other, the story is two stories.

The check bisects the members by spherical 2-means (the best of several seeded starts) and splits when
both parts have `min_part` members and the mean silhouette (a member's cosine with the rest of its
part minus its cosine with the other part) reaches `separation`. It needs full text: on headlines
alone, a dozen words each, genuine stories fall apart as readily, so a story whose median member is
shorter than `min_words` is never split. The part holding the story's first article keeps the story
id; the other becomes a story named after its own first article. Both parts are checked again.

A member and its copies (copies of copies too) are one unit of the check and always stay together: a
wire story republished word for word by five outlets is one voice, not a tight cluster of five that
the check would cut off from the story's rewrites.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, count

import numpy as np
import xxhash

from aggregator.core.centroid import cosine, story_id_for
from aggregator.core.copies import copy_groups
from aggregator.core.models import Centroid, Decision, MemberVector, Relation


@dataclass(frozen=True)
class SplitRule:
    """When a story is two. `Settings.split_rule()` gives the production values."""

    separation: float  # mean silhouette a split needs; 0 turns splitting off
    min_words: int  # median body words of the members below which a story is not split
    min_part: int = 3  # members each part needs: fewer is an outlier, not a second story
    restarts: int = 20  # seeded 2-means starts; the most coherent result is kept
    iterations: int = 15
    growth: float = 1.25  # a story is checked again once it has grown by this factor


def due(before: int, after: int, rule: SplitRule) -> bool:
    """Whether a story that grew from `before` to `after` members is checked: at 2 * min_part members,
    then each time it has grown by a quarter, so checks cost a small share of clustering however
    large stories get."""
    if rule.separation <= 0:
        return False
    mark = 2 * rule.min_part
    while mark <= after:
        if mark > before:
            return True
        mark = max(mark + 1, int(mark * rule.growth))
    return False


def due_stories(grown: Mapping[str, tuple[int, int]], rule: SplitRule) -> list[str]:
    """The stories a batch grew (story -> members before and after it) that are checked now."""
    return [sid for sid, (before, after) in grown.items() if due(before, after, rule)]


def split_plans(
    members: Mapping[str, Sequence[MemberVector]], rule: SplitRule
) -> dict[str, dict[str, list[MemberVector]]]:
    """The checked stories (story -> its members) that split, each with the stories it makes (`plan`)."""
    plans = {sid: plan(sid, ms, rule) for sid, ms in members.items()}
    return {sid: parts for sid, parts in plans.items() if len(parts) > 1}


def plan(story_id: str, members: Sequence[MemberVector], rule: SplitRule) -> dict[str, list[MemberVector]]:
    """The stories `story_id`'s members make: story id -> its members, `story_id` first and alone when
    the story stays whole. Each new story is named after its first member, which founded it."""
    groups = {story_id: sorted(members, key=lambda m: (m.time, m.article_id))}
    todo = [story_id]
    while todo:
        sid = todo.pop()
        parts = bisect(groups[sid], rule)
        if parts is None:
            continue
        kept, moved = parts
        new = story_id_for(moved[0].article_id)
        groups[sid], groups[new] = kept, moved
        todo += [sid, new]
    return groups


def bisect(
    group: Sequence[MemberVector], rule: SplitRule
) -> tuple[list[MemberVector], list[MemberVector]] | None:
    """(kept, moved), kept holding `group[0]`, each in `group`'s order; None when the group is one
    story. `group` is in (time, article id) order."""
    units = copy_units(group)
    n = len(units)
    if n < 2 * rule.min_part or sorted(max(m.length for m in u) for u in units)[n // 2] < rule.min_words:
        return None
    vectors = _Vectors([u[0] if len(u) == 1 else _merged(u) for u in units])
    # Seeded by the members: the same group splits the same way in every worker and run.
    rng = np.random.default_rng(xxhash.xxh64_intdigest(",".join(m.article_id for m in group).encode()))
    first = rng.integers(0, n, rule.restarts)
    second = rng.integers(0, n - 1, rule.restarts)
    second += second >= first  # two different units
    labels = vectors.best_bisection(first, second, rule.iterations)
    if labels is None:
        return None
    if min(np.bincount(labels, minlength=2)) < rule.min_part or vectors.silhouette(labels) < rule.separation:
        return None
    side = {m.article_id: k == labels[0] for u, k in zip(units, labels, strict=True) for m in u}
    return [m for m in group if side[m.article_id]], [m for m in group if not side[m.article_id]]


def copy_units(group: Sequence[MemberVector]) -> list[list[MemberVector]]:
    """The members grouped with their copies, in the order of each unit's first member."""
    unit_of = copy_groups({m.article_id: m.copy_of for m in group})
    units: dict[str, list[MemberVector]] = {}
    for m in group:
        units.setdefault(unit_of[m.article_id], []).append(m)
    return list(units.values())


def _merged(unit: Sequence[MemberVector]) -> MemberVector:
    """A unit of copies as one member: its summed vectors, its longest text."""
    summed: dict[int, float] = {}
    for m in unit:
        for t, w in m.vector.items():
            summed[t] = summed.get(t, 0.0) + w
    return MemberVector(unit[0].article_id, unit[0].time, max(m.length for m in unit), summed)


def relations_after(
    story_id: str, parts: Mapping[str, Sequence[MemberVector]], centroids: Mapping[str, Centroid]
) -> dict[str, Decision]:
    """The members whose relation a split changes: each new story's founder (its first member) starts
    it; a member that joined through an article now in another story is a rewrite of its own part,
    scored against that part's centroid. Copies stay with their originals, so they stay copies."""
    out = {}
    for sid, members in parts.items():
        ids = {m.article_id for m in members}
        founder = members[0]
        for m in members:
            if sid != story_id and m is founder:
                if m.copy_of not in ids:
                    out[m.article_id] = Decision(sid, Relation.CANONICAL, 1.0, None, ())
            elif m.matched in ids or (m.matched is None and sid == story_id):
                continue  # unchanged: it joined through a member of its own part, or started the story
            else:
                score = cosine(m.vector, centroids[sid])
                signals = ("split", f"tfidf={score:.2f}")
                matched = founder.article_id
                out[m.article_id] = Decision(sid, Relation.REWRITE, round(score, 4), matched, signals)
    return out


def _parts(labels: np.ndarray) -> np.ndarray:
    """The 2 x members 0/1 matrix of a labelling."""
    return np.stack([labels == 0, labels == 1]).astype(float)


class _Vectors:
    """Members' unit vectors, dense over the terms two or more of them share. A term only one member has
    adds to nothing but that member's own products: it is kept as that member's `private` mass, which
    keeps every cosine exact in a matrix a fraction of the size."""

    def __init__(self, group: Sequence[MemberVector]) -> None:
        n = len(group)
        terms = list(chain.from_iterable(m.vector for m in group))
        rows = np.repeat(np.arange(n), [len(m.vector) for m in group])
        norms = np.array([math.hypot(*m.vector.values()) or 1.0 for m in group])
        weights = np.fromiter(chain.from_iterable(m.vector.values() for m in group), float, len(terms))
        weights /= norms[rows]
        # A code per term (its first mention sets it), then the terms two members share
        # numbered in the order of their first mention.
        code: dict[int, int] = {}
        codes = np.fromiter(map(code.setdefault, terms, count()), np.intp, len(terms))
        repeated = np.bincount(codes, minlength=len(terms)) > 1
        shared = np.where(repeated[codes], (np.cumsum(repeated) - 1)[codes], -1)
        own = shared < 0
        self.x = np.zeros((n, max(1, int(repeated.sum()))))
        self.x[rows[~own], shared[~own]] = weights[~own]
        self.private = np.bincount(rows[own], weights[own] ** 2, minlength=n)

    def dots(self, parts: np.ndarray) -> np.ndarray:
        """members x 2: each member's product with each part's summed vectors."""
        sums = parts @ self.x
        return self.x @ sums.T + parts.T * self.private[:, None]

    def norms_sq(self, parts: np.ndarray) -> np.ndarray:
        sums = parts @ self.x
        return (sums * sums).sum(axis=1) + parts @ self.private

    def best_bisection(self, first: np.ndarray, second: np.ndarray, iterations: int) -> np.ndarray | None:
        """Spherical 2-means from every start (members `first[k]` and `second[k]`) at once; the labels
        of the most coherent result (the largest summed norm of the parts' sums), None if every start
        left a part empty."""
        n = len(self.private)
        starts = np.arange(len(first))
        parts = np.zeros((len(starts), 2, n))
        parts[starts, 0, first] = parts[starts, 1, second] = 1.0
        labels = np.full((len(starts), n), -1)
        k = 2 * len(starts)  # the products as 2-D matrices: one BLAS call each, not one per start
        for _ in range(iterations):
            sums = (parts.reshape(k, n) @ self.x).reshape(len(starts), 2, -1)  # starts x 2 x terms
            norms = np.sqrt((sums * sums).sum(axis=2) + parts @ self.private)
            dots = (sums.reshape(k, -1) @ self.x.T).reshape(len(starts), 2, n)
            sims = (dots + parts * self.private) / np.maximum(norms, 1e-6)[:, :, None]
            new = (sims[:, 1] > sims[:, 0]).astype(np.intp)
            if np.array_equal(new, labels):
                break
            labels = new
            parts = np.stack([labels == 0, labels == 1], axis=1).astype(float)
        sums = (parts.reshape(k, n) @ self.x).reshape(len(starts), 2, -1)
        coherence = np.sqrt((sums * sums).sum(axis=2) + parts @ self.private).sum(axis=1)
        coherence[labels.min(axis=1) == labels.max(axis=1)] = -1.0  # one part empty: no bisection
        best = int(np.argmax(coherence))  # the first of equals: the same on every run
        return labels[best] if coherence[best] >= 0 else None

    def silhouette(self, labels: np.ndarray) -> float:
        """Mean over members of: cosine with the rest of its own part minus cosine with the other part."""
        parts = _parts(labels)
        dots, sq = self.dots(parts), self.norms_sq(parts)
        idx = np.arange(len(labels))
        own_dot, other_dot = dots[idx, labels], dots[idx, 1 - labels]
        self_sq = (self.x * self.x).sum(axis=1) + self.private
        rest_sq = sq[labels] - 2 * own_dot + self_sq  # |own part's sum without the member|^2
        own = np.where(rest_sq > 1e-12, (own_dot - self_sq) / np.sqrt(np.maximum(rest_sq, 1e-12)), 0.0)
        other = other_dot / np.sqrt(np.maximum(sq[1 - labels], 1e-12))
        return float(np.mean(own - other))
