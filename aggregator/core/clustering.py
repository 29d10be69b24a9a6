"""The clustering decision: candidates in, join-or-start out.

The LSH index only proposes candidates (articles sharing a band of their distinctive keywords'
MinHash). Two signals confirm one:

- a copy: the bodies share most 3-word shingles (bottom-k sketch Jaccard >= `copy`). Verbatim,
  trimmed and retitled copies are caught here, whatever their wording around.
- a rewrite: the TF-IDF cosine with the candidate's *story centroid* (the sum of its variants' unit
  vectors) clears `join`. Comparing with the whole story, not its nearest article, is what joins a
  rewrite that shares a little with each variant, and resists one loose variant chaining two stories.

`Clusterer.assign` is pure: the caller fetches the candidates and centroids the persistent index
proposes for a batch and commits what comes back. Articles of one batch see each other through a
scan of the batch, so the batch is decided exactly as if its articles had arrived one by one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from aggregator.core.fingerprint import dot, sketch_jaccard, sketch_jaccard_at_most
from aggregator.core.index import Candidate, Record
from aggregator.core.models import Decision, Features, Relation

Centroid = Mapping[str, float]


@dataclass(frozen=True)
class Thresholds:
    join: float = 0.22
    copy: float = 0.50
    max_candidates: int = 16  # candidates confirmed per article, those sharing the most LSH bands first
    centroid_terms: int = 150  # terms a story centroid keeps: its heaviest, enough for the cosine
    min_sketch: int = 16  # shingles an article needs before a shingle match alone may call it a copy
    # Best-ranked candidates checked for a copy: a copy shares nearly every band (on ecbplus each
    # ranked 1st or 2nd).
    copy_checks: int = 4


@dataclass(frozen=True)
class Assignment:
    decision: Decision
    record: Record
    centroid: Centroid  # the story's centroid with this article added


def story_id_for(article_id: str) -> str:
    """A story is named after the article that started it, so re-running a batch names it the same."""
    return "s" + article_id


def add_to_centroid(centroid: Centroid | None, vector: Mapping[str, float], keep: int) -> dict[str, float]:
    base = centroid or {}
    out = dict(base)
    shared = out.keys() & vector.keys()
    out.update(vector)  # in C: the new terms go in at the end, in the vector's order
    for t in shared:  # Python visits only the shared terms, a share of the vector's
        out[t] += base[t]
    if len(out) > 2 * keep:  # trimmed in steps, not on every add: sorting is the cost
        # Equal weights keep their insertion order (a stable sort), the same on every run.
        out = dict(sorted(out.items(), key=itemgetter(1), reverse=True)[:keep])
    return out


def cosine(vector: Mapping[str, float], centroid: Centroid, norm: float | None = None) -> float:
    """Cosine of a unit vector with a centroid, whose norm may be given when known."""
    norm = math.hypot(*centroid.values()) if norm is None else norm
    return dot(vector, centroid) / norm if norm else 0.0


class Clusterer:
    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds

    def assign(
        self,
        ids: Sequence[str],
        feats: Sequence[Features],
        times: Sequence[float],
        candidates: Sequence[Sequence[Candidate]],
        centroids: Mapping[str, Centroid],
        norms: dict[str, float] | None = None,
    ) -> list[Assignment]:
        """Decide each article in order; `candidates[i]` are what the persistent index proposed for
        it and `centroids` the centroids of their stories. `norms` caches those centroids' norms for a
        caller that keeps them between batches: filled as they are computed, and a story's dropped when
        this batch grows it, so it holds only the norms of the centroids returned."""
        earlier: list[tuple[Record, frozenset[int]]] = []  # this batch's records, with their band sets
        known: dict[str, Centroid] = dict(centroids)
        norms = {} if norms is None else norms  # each computed once until its story grows
        out: list[Assignment] = []
        for aid, f, t, found in zip(ids, feats, times, candidates, strict=True):
            mine = frozenset(f.bands)
            # Ranked by bands shared, most first, ties by id: the index counted its own candidates'.
            pool = {c.record.article_id: (-c.shared, c.record.article_id, c.record) for c in found}
            # The batch's earlier articles sharing a band: a scan of at most a batch is cheaper than an index.
            for r, theirs in earlier:
                if shared := len(mine.intersection(theirs)):
                    pool[r.article_id] = (-shared, r.article_id, r)
            pool.pop(aid, None)
            ranked = [r for _, _, r in sorted(pool.values())]  # ids are unique: records never compared
            decision = self.decide(aid, f, ranked[: self.thresholds.max_candidates], known, norms)
            sid = decision.story_id
            known[sid] = add_to_centroid(known.get(sid), f.vector, self.thresholds.centroid_terms)
            norms.pop(sid, None)
            record = Record(aid, sid, f.shingle_sig, f.bands, t)
            earlier.append((record, mine))
            out.append(Assignment(decision, record, known[sid]))
        return out

    def decide(
        self,
        aid: str,
        f: Features,
        pool: Sequence[Record],
        centroids: Mapping[str, Centroid],
        norms: dict[str, float],
    ) -> Decision:
        """Join a copy's story, else the story whose centroid is nearest, else start a story. `norms`
        caches centroid norms between calls."""
        th = self.thresholds
        signals: tuple[str, ...]
        # A copy of a candidate joins its story whatever the rest of the story says.
        if len(f.shingle_sig) >= th.min_sketch:
            # Copies share nearly all keywords, so they rank first: the top few are enough to check.
            mine = set(f.shingle_sig)
            overlaps = [
                (sketch_jaccard(f.shingle_sig, r.shingle_sig), r)
                for r in pool[: th.copy_checks]
                if sketch_jaccard_at_most(mine, r.shingle_sig) >= th.copy
            ]
            overlap, copied = max(overlaps, key=lambda o: o[0], default=(0.0, None))
            if copied is not None and overlap >= th.copy:
                score = cosine(f.vector, centroids.get(copied.story_id, {}))
                signals = ("shingles", f"shingles={overlap:.2f}", f"tfidf={score:.2f}")
                return Decision(copied.story_id, Relation.COPY, round(overlap, 4), copied.article_id, signals)
        best_sid, best_score = None, 0.0
        for sid in dict.fromkeys(r.story_id for r in pool):  # candidates' stories, best-ranked first
            centroid = centroids.get(sid)
            if not centroid:
                continue
            norm = norms.get(sid)
            if norm is None:
                norm = norms[sid] = math.hypot(*centroid.values())  # in C
            score = cosine(f.vector, centroid, norm)
            if score > best_score:
                best_sid, best_score = sid, score
        if best_sid is None or best_score < th.join:
            return Decision(story_id_for(aid), Relation.CANONICAL, 1.0, None, ())
        matched = next(r for r in pool if r.story_id == best_sid)
        signals = ("keywords", f"tfidf={best_score:.2f}")
        return Decision(best_sid, Relation.REWRITE, round(best_score, 4), matched.article_id, signals)
