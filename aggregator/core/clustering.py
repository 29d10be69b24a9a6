"""The clustering decision: candidates in, join-or-start out.

The LSH index only proposes candidates (articles sharing a band of distinctive-keyword MinHash); a
candidate's story is joined when the TF-IDF cosine with one of its articles clears `join_threshold`.
The relation to the story is `copy` when the bodies share most 3-word shingles, else `rewrite`.

`Clusterer.assign` is pure: the caller fetches the candidates the persistent index proposes for a batch
and commits what comes back. Articles of one batch see each other through an in-memory overlay, so the
batch is decided exactly as if its articles had arrived one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aggregator.core.fingerprint import DocFreq, dot, signature_jaccard, unit_vector
from aggregator.core.index import MemoryIndex, Record
from aggregator.core.models import Decision, Features, Relation


@dataclass(frozen=True)
class Thresholds:
    join: float = 0.30
    copy: float = 0.50
    record_terms: int = 80  # terms kept per indexed article: enough for the cosine, small in Redis
    max_candidates: int = 32  # candidates confirmed per article, those sharing the most LSH bands first


def shared_bands(a: Sequence[str], b: Sequence[str]) -> int:
    return len(set(a).intersection(b))


def story_id_for(article_id: str) -> str:
    """A story is named after the article that started it, so re-running a batch names it the same."""
    return "s" + article_id


class Clusterer:
    def __init__(self, thresholds: Thresholds, bucket_cap: int) -> None:
        self.thresholds = thresholds
        self.bucket_cap = bucket_cap

    def assign(
        self,
        ids: Sequence[str],
        feats: Sequence[Features],
        times: Sequence[float],
        candidates: Sequence[Sequence[Record]],
        freq: DocFreq,
    ) -> list[tuple[Decision, Record]]:
        """Decide each article in order; `candidates[i]` are what the persistent index proposed for it."""
        overlay = MemoryIndex(self.bucket_cap)
        vectors: dict[str, dict[str, float]] = {}  # candidate vectors, computed once per batch
        out: list[tuple[Decision, Record]] = []
        for aid, f, t, found in zip(ids, feats, times, candidates, strict=True):
            pool = {r.article_id: r for r in found}
            pool.update((r.article_id, r) for r in overlay.query(f.bands))
            pool.pop(aid, None)
            ranked = sorted(pool.values(), key=lambda r: (-shared_bands(f.bands, r.bands), r.article_id))
            decision = self.decide(aid, f, ranked[: self.thresholds.max_candidates], freq, vectors)
            record = self.record(aid, decision.story_id, f, t, freq)
            overlay.add(record)
            out.append((decision, record))
        return out

    def decide(
        self,
        aid: str,
        f: Features,
        pool: Sequence[Record],
        freq: DocFreq,
        vectors: dict[str, dict[str, float]] | None = None,
    ) -> Decision:
        vectors = {} if vectors is None else vectors
        mine = unit_vector(f.terms, freq)
        best: Record | None = None
        best_score = 0.0
        for cand in pool:
            vec = vectors.get(cand.article_id)
            if vec is None:
                vec = vectors[cand.article_id] = unit_vector(cand.terms, freq)
            score = dot(mine, vec)
            if score > best_score:
                best, best_score = cand, score
        if best is None or best_score < self.thresholds.join:
            return Decision(story_id_for(aid), Relation.CANONICAL, 1.0, None, ())
        overlap = signature_jaccard(f.shingle_sig, best.shingle_sig)
        signals = ["keywords", f"tfidf={best_score:.2f}"]
        if overlap >= self.thresholds.copy:
            signals.append(f"shingles={overlap:.2f}")
            relation = Relation.COPY
        else:
            relation = Relation.REWRITE
        return Decision(best.story_id, relation, round(best_score, 4), best.article_id, tuple(signals))

    def record(self, aid: str, story_id: str, f: Features, t: float, freq: DocFreq) -> Record:
        w = unit_vector(f.terms, freq)
        kept = sorted(w, key=lambda term: (-w[term], term))[: self.thresholds.record_terms]
        return Record(aid, story_id, {k: f.terms[k] for k in kept}, f.shingle_sig, f.bands, t)
