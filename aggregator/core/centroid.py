"""Story centroids, the cosine that compares an article with one, and story ids.

A story's centroid is the sum of its variants' unit vectors, trimmed to its heaviest terms. Comparing a
newcomer with the whole story, not its nearest article, joins a rewrite that shares a little with each
variant and resists one loose variant chaining two stories together.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from operator import itemgetter

from aggregator.core.models import Centroid, MemberVector, Summary

# A closed story is kept by its heaviest terms (enough for a follow-up's cosine), and found by its
# heaviest few: a follow-up names the event's people, places and things as the story did.
SUMMARY_TERMS = 48
SUMMARY_KEYS = 12
FOLLOWUP_MIN_SHARED = 2  # key terms an article's keywords must share with a summary to be compared


def story_id_for(article_id: str) -> str:
    """A story is named after the article that started it, so re-running a batch names it the same."""
    return "s" + article_id


def dot(a: Mapping[int, float], b: Mapping[int, float]) -> float:
    # fsum is exact, so the order of the shared terms (a set, hash-seeded) cannot change the result.
    shared = a.keys() & b.keys()
    return math.fsum(map(operator.mul, map(a.__getitem__, shared), map(b.__getitem__, shared)))


def add_to_centroid(centroid: Centroid | None, vector: Mapping[int, float], keep: int) -> dict[int, float]:
    """The centroid with `vector` added, holding at most about `2 * keep` terms."""
    base = centroid or {}
    out = dict(base)
    shared = out.keys() & vector.keys()
    out.update(vector)  # the new terms go in at the end, in the vector's order
    for t in shared:  # only the shared terms need adding up
        out[t] += base[t]
    if len(out) > 2 * keep:  # trimmed in steps, not on every add: sorting is the cost
        # Equal weights keep their insertion order (a stable sort), the same on every run.
        out = dict(sorted(out.items(), key=itemgetter(1), reverse=True)[:keep])
    return out


def centroid_of(members: Sequence[MemberVector], keep: int) -> dict[int, float]:
    """A story centroid rebuilt from its members' vectors, in their order, as clustering builds one."""
    centroid: dict[int, float] = {}
    for m in members:
        centroid = add_to_centroid(centroid, m.vector, keep)
    return centroid


def norm(centroid: Centroid) -> float:
    return math.hypot(*centroid.values())


def cosine(vector: Mapping[int, float], centroid: Centroid, known_norm: float | None = None) -> float:
    """Cosine of a unit vector with a centroid, whose norm may be given when known."""
    n = norm(centroid) if known_norm is None else known_norm
    return dot(vector, centroid) / n if n else 0.0


def summary(story_id: str, centroid: Centroid, latest: str, time: float) -> Summary:
    """The story as the archive keeps it: its centroid's `SUMMARY_TERMS` heaviest terms, heaviest first."""
    heaviest = sorted(centroid.items(), key=itemgetter(1), reverse=True)[:SUMMARY_TERMS]
    return Summary(story_id, dict(heaviest), latest, time)


def summary_keys(s: Summary) -> list[int]:
    """The terms a summary is found by: its heaviest `SUMMARY_KEYS`."""
    return list(s.terms)[:SUMMARY_KEYS]
