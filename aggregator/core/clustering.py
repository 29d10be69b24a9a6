"""The clustering decision: candidates in, join-or-start out.

The LSH index only proposes candidates (articles sharing a band of their distinctive keywords'
MinHash). Two signals confirm one:

- a copy: the bodies share most 3-word shingles (bottom-k sketch Jaccard >= `copy`), or one body holds
  nearly all of the other's (containment >= `contained`: a copy trimmed to its first paragraphs).
  Verbatim, trimmed and retitled copies are caught here, whatever their wording around.
- a rewrite: the TF-IDF cosine with the candidate's *story centroid* (the sum of its variants' unit
  vectors) clears `join`. Comparing with the whole story, not its nearest article, is what joins a
  rewrite that shares a little with each variant, and resists one loose variant chaining two stories.

`Clusterer.assign` is pure: `core/pipeline.py` fetches what the index proposes for a batch and
commits what comes back. Articles of one batch see each other through a
scan of the batch, so the batch is decided exactly as if its articles had arrived one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aggregator.core.centroid import add_to_centroid, cosine, norm, story_id_for
from aggregator.core.fingerprint import sketch_containment, sketch_jaccard, sketch_jaccard_at_most
from aggregator.core.models import Assignment, Centroid, Decision, Features, Lookup, Record, Relation, Summary

CONTAINMENT_SAMPLES = 8  # shingles of the shorter text a containment estimate needs
# Sketch hashes a copy shares at least: a Jaccard of 0.5 with a newcomer of `min_sketch` (16) or more
# needs 8, a containment of `contained` over 8 samples needs 7.
COPY_MIN_SHARED = 7
Sketch = tuple[int, ...]


@dataclass(frozen=True)
class Thresholds:
    """What confirms a candidate. `Settings.thresholds()` gives the production values."""

    join: float  # TF-IDF cosine with a story centroid that joins it as a rewrite
    copy: float  # shingle-sketch Jaccard that joins a candidate's story as a copy
    contained: float  # share of the shorter text's shingles the other holds that makes it a copy
    followup: float  # TF-IDF cosine with an archived story's summary that joins it as a follow-up
    max_candidates: int  # candidates confirmed per article, those sharing the most LSH bands first
    centroid_terms: int = 150  # terms a story centroid keeps: its heaviest, enough for the cosine
    min_sketch: int = 16  # shingles an article needs before a shingle match alone may call it a copy
    # Best-ranked candidates checked for a copy. A story's rewrites share most of a copy's keywords too,
    # and a retitled copy has other headline words, so in a large story a copy need not rank first.
    copy_checks: int = 16
    archive_checks: int = 4  # archived stories a follow-up is compared with, those sharing most key terms


class Clusterer:
    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds

    def assign(
        self, ids: Sequence[str], feats: Sequence[Features], times: Sequence[float], lookup: Lookup
    ) -> list[Assignment]:
        """Decide each article in order; `lookup.found[i]` are what the persistent index proposed for
        it. `lookup.norms` gets each centroid norm computed, and loses a story's when this batch grows
        it, so it holds only the norms of the centroids the index will hold after the batch."""
        earlier: list[tuple[Record, frozenset[int]]] = []  # this batch's records, with their band sets
        known: dict[str, Centroid] = dict(lookup.centroids)
        norms = lookup.norms  # each computed once until its story grows
        out: list[Assignment] = []
        archived = lookup.archived or [()] * len(ids)
        for aid, f, t, found, closed in zip(ids, feats, times, lookup.found, archived, strict=True):
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
            if decision.new_story and closed:
                decision = self.follow_up(f, closed, lookup.summaries, known) or decision
            sid = decision.story_id
            base = known.get(sid) or (lookup.summaries[sid].terms if sid in lookup.summaries else None)
            known[sid] = add_to_centroid(base, f.vector, self.thresholds.centroid_terms)
            norms.pop(sid, None)
            record = Record(aid, sid, f.shingle_sig, f.bands, t)
            earlier.append((record, mine))
            out.append(Assignment(decision, record, known[sid]))
        return out

    def _copy_overlap(self, mine: Sketch, both: int, theirs: Sketch) -> tuple[float, str]:
        """How much of a copy of `theirs` `mine` is: (Jaccard, "shingles") when it reaches `copy`, else
        (containment, "contained") when that reaches `contained`, else (0.0, ""). `both`, the hashes both
        sketches hold, bounds each estimate: cheap bounds rule most candidates out before either."""
        th = self.thresholds
        if (
            sketch_jaccard_at_most(both, len(mine), len(theirs)) >= th.copy
            and (j := sketch_jaccard(mine, theirs)) >= th.copy
        ):
            return j, "shingles"
        if (
            both >= th.contained * CONTAINMENT_SAMPLES
            and len(theirs) >= th.min_sketch
            and (c := sketch_containment(mine, theirs, CONTAINMENT_SAMPLES)) >= th.contained
        ):
            return c, "contained"
        return 0.0, ""

    def follow_up(
        self,
        f: Features,
        closed: Sequence[str],
        summaries: Mapping[str, Summary],
        known: Mapping[str, Centroid],
    ) -> Decision | None:
        """The archived story (`closed`: story ids, most key terms shared first) that an article which
        joined no live story follows up, if its summary is close enough; a story this batch revived is
        compared by its centroid."""
        best: tuple[float, Summary] | None = None
        for sid in closed[: self.thresholds.archive_checks]:
            if (s := summaries.get(sid)) is None:
                continue
            score = cosine(f.vector, known.get(sid) or s.terms)
            if score >= self.thresholds.followup and (best is None or score > best[0]):
                best = (score, s)
        if best is None:
            return None
        score, s = best
        return Decision(
            s.story_id, Relation.REWRITE, round(score, 4), s.latest, ("followup", f"tfidf={score:.2f}")
        )

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
            mine = set(f.shingle_sig)
            # A copy shares at least COPY_MIN_SHARED sketch hashes: counting them, in C, rules out most.
            shared = ((len(mine.intersection(r.shingle_sig)), r) for r in pool[: th.copy_checks])
            found = [
                (self._copy_overlap(f.shingle_sig, both, r.shingle_sig), r)
                for both, r in shared
                if both >= COPY_MIN_SHARED
            ]
            (overlap, kind), copied = max(found, key=lambda o: o[0][0], default=((0.0, ""), None))
            if copied is not None and overlap > 0.0:
                score = cosine(f.vector, centroids.get(copied.story_id, {}))
                signals = ("shingles", f"{kind}={overlap:.2f}", f"tfidf={score:.2f}")
                return Decision(copied.story_id, Relation.COPY, round(overlap, 4), copied.article_id, signals)
        best_sid, best_score = None, 0.0
        for sid in dict.fromkeys(r.story_id for r in pool):  # candidates' stories, best-ranked first
            centroid = centroids.get(sid)
            if not centroid:
                continue
            n = norms.get(sid)
            if n is None:
                n = norms[sid] = norm(centroid)
            score = cosine(f.vector, centroid, n)
            if score > best_score:
                best_sid, best_score = sid, score
        if best_sid is None or best_score < th.join:
            return Decision(story_id_for(aid), Relation.CANONICAL, 1.0, None, ())
        matched = next(r for r in pool if r.story_id == best_sid)
        signals = ("keywords", f"tfidf={best_score:.2f}")
        return Decision(best_sid, Relation.REWRITE, round(best_score, 4), matched.article_id, signals)
