"""Fingerprints: term weights, distinctive keywords, MinHash signatures and LSH band keys.

Hashing is batched: `MinHash.bulk` with an xxhash function hashes a whole batch in numpy, far faster
than `MinHash.update` per token.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xxhash
from datasketch import MinHash

from aggregator.core import text
from aggregator.core.models import Article, Features

_SEED = 1
SHINGLE_PERM = 64  # enough to tell a copy (Jaccard >= 0.5) from a rewrite (< 0.1) with room to spare


def _hash32(data: bytes) -> int:
    return xxhash.xxh32_intdigest(data)


@dataclass(frozen=True)
class DocFreq:
    """Document frequencies seen so far: what makes a word distinctive."""

    docs: int
    df: Mapping[str, int]

    def idf(self, term: str) -> float:
        # Smoothed: a word never seen gets the highest weight, one in every document about 1.
        return math.log((self.docs + 1) / (self.df.get(term, 0) + 1)) + 1.0


def clean_parts(article: Article) -> tuple[str, str]:
    """Title and body as compared: normalised, page furniture cut."""
    return text.normalise(article.title), text.strip_furniture(text.normalise(article.text))


@dataclass(frozen=True)
class Prepared:
    """Counts and words of one article: computed once, before the IDF statistics are fetched."""

    counts: Counter[str]
    body_words: list[str]


def prepare(article: Article) -> Prepared:
    title, body = clean_parts(article)
    return Prepared(text.term_counts(title, body), text.words(body))


def features_batch(
    prepared: Sequence[Prepared], freq: DocFreq, keywords: int, num_perm: int, bands: int
) -> list[Features]:
    kws = []
    for p in prepared:
        c = p.counts
        ranked = sorted(c, key=lambda t: (-(1.0 + math.log(c[t])) * freq.idf(t), t))
        kws.append(tuple(ranked[:keywords]))
    keyword_sigs = minhashes(kws, num_perm)
    shingle_sigs = minhashes([sorted(text.shingles(p.body_words)) for p in prepared], SHINGLE_PERM)
    return [
        Features(
            terms={t: float(n) for t, n in p.counts.items()},
            keywords=kw,
            bands=tuple(band_keys(ks, bands)),
            shingle_sig=tuple(int(v) for v in ss),
            length=len(p.body_words),
        )
        for p, kw, ks, ss in zip(prepared, kws, keyword_sigs, shingle_sigs, strict=True)
    ]


def minhashes(token_sets: Sequence[Sequence[str]], num_perm: int) -> list[np.ndarray]:
    """MinHash signatures (uint64 arrays) for many token sets at once."""
    encoded = [[t.encode() for t in tokens] or [b""] for tokens in token_sets]
    hashed: list[MinHash] = MinHash.bulk(encoded, num_perm=num_perm, seed=_SEED, hashfunc=_hash32)
    return [m.hashvalues for m in hashed]


def band_keys(signature: np.ndarray, bands: int) -> list[str]:
    """One key per band: two articles whose rows of a band all agree share that bucket."""
    rows = len(signature) // bands
    return [
        f"{b}:{xxhash.xxh64_hexdigest(signature[b * rows : (b + 1) * rows].tobytes())[:12]}"
        for b in range(bands)
    ]


def signature_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard of the two sets behind two MinHash signatures."""
    if not a or not b:
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def unit_vector(terms: Mapping[str, float], freq: DocFreq) -> dict[str, float]:
    """TF-IDF weights (sub-linear tf), scaled to length 1 so that a dot product is the cosine."""
    w = {t: (1.0 + math.log(c)) * freq.idf(t) for t, c in terms.items() if c > 0}
    norm = math.sqrt(sum(x * x for x in w.values()))
    return {t: x / norm for t, x in w.items()} if norm else {}


def dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b[t] for t, w in a.items() if t in b)
