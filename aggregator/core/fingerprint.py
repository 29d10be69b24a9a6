"""Fingerprints: TF-IDF vectors, distinctive keywords, their MinHash band keys and a shingle sketch.

Hashing is batched: one numpy expression computes a whole batch's keyword MinHashes with datasketch's
permutations, and one numpy pass computes the batch's shingle sketches from one hash per word.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xxhash
from datasketch import MinHash
from datasketch.minhash import _fmix  # its MurmurHash3 pre-mix: signatures stay datasketch's

from aggregator.core import text
from aggregator.core.furniture import strip_furniture
from aggregator.core.models import Article, Features

_SEED = 1
SKETCH_SIZE = 64  # shingle hashes kept: tells a copy (Jaccard >= 0.5) from a rewrite (< 0.1) with room
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)

# Word -> 64-bit hash, shared by every article (bounded like the term cache).
_WORD_HASH: dict[str, int] = {}
_WORD_HASH_MAX = 500_000


def _hash32(data: bytes) -> int:
    return xxhash.xxh32_intdigest(data)


# Document frequencies are counted in a fixed number of slots, a term's slot picked by its hash: a
# counter per term would grow forever on a stream that keeps bringing new names. With 2^21 slots a
# rare term shares its slot with one of the ~10k common words 0.5% of the time, and then only
# weighs less. Changing this renumbers every counter: it is a constant, not a setting.
DF_SLOTS = 1 << 21
_DF_KEY: dict[str, str] = {}  # term -> its slot, bounded like the term cache


def df_key(term: str) -> str:
    """The document-frequency counter `term` counts in."""
    key = _DF_KEY.get(term)
    if key is None:
        if len(_DF_KEY) >= _WORD_HASH_MAX:
            _DF_KEY.clear()
        key = _DF_KEY[term] = format(xxhash.xxh32_intdigest(term.encode()) % DF_SLOTS, "x")
    return key


# The IDF counts this many documents more than were seen, documents that held none of the terms: it
# adds log((n + 11) / (n + 1)) to every IDF, 1.4 after two documents, 0.1 after a hundred. In a young
# stream the counts say little: after two articles about one event, a word both had would weigh half
# of one only the newcomer has, the newcomer's keywords would be all its own, and the LSH search would
# miss its story (the five seed articles fed one at a time came out as two stories; now one). Kept
# small: a prior of 1,000 flattened the IDF for hundreds of documents and merged unrelated ones.
IDF_PRIOR_DOCS = 10


@dataclass(frozen=True)
class DocFreq:
    """Document frequencies seen so far: what makes a word distinctive."""

    docs: int
    df: Mapping[str, int]  # df_key -> documents counted in that slot


def clean_parts(article: Article) -> tuple[str, str]:
    """Title and body as compared: normalised, page furniture cut."""
    title = text.normalise(article.title)
    return title, strip_furniture(text.normalise(article.text), title)


# A news story states its event in the headline and the first sentences (the inverted pyramid), and a
# rewrite restates them there; the rest of a page is background, quotes and, on many pages, furniture
# that no heading announced. So the keywords the LSH search hashes are taken from the lead first: on
# ecbplus fed one article at a time F1 goes from 0.872 to 0.878, and a seed page whose text ends in 11k
# characters of other stories' teasers finds its story instead of starting its own.
LEAD_WORDS = 100
TOP_TERMS = 64  # an article's heaviest terms that the split check compares: enough for its cosines


@dataclass(frozen=True)
class Prepared:
    """Counts and words of one article: computed once, before the IDF statistics are fetched."""

    counts: dict[str, int]
    body_words: list[str]  # as written: the shingle sketch ignores case itself
    lead: frozenset[str]  # terms of the headline and the first LEAD_WORDS words


def df_keys(prepared: Prepared) -> set[str]:
    """The document-frequency counters an article adds one to when it is first indexed."""
    get = _DF_KEY.get
    return {get(t) or df_key(t) for t in prepared.counts}


def prepare(article: Article) -> Prepared:
    title, body = clean_parts(article)
    # A headline-only item is compared by its headline's wording.
    title_tokens, body_tokens = text.tokens(title), text.tokens(body)
    lead = text.terms_of([*title_tokens, *body_tokens[:LEAD_WORDS]])
    return Prepared(text.term_counts(title_tokens, body_tokens), body_tokens or title_tokens, lead)


def features_batch(
    prepared: Sequence[Prepared], freq: DocFreq, keywords: int, num_perm: int, bands: int
) -> list[Features]:
    # Smoothed IDF: a word never seen gets the highest weight, one in every document about 1. Written
    # inline with its lookups bound to locals: this and the weights below run for every distinct term.
    docs, df, log, tf, slot = freq.docs + 1 + IDF_PRIOR_DOCS, freq.df, math.log, _TF_TABLE, _DF_KEY.get
    terms = set().union(*(p.counts for p in prepared))
    idf = {t: log(docs / (df.get(slot(t) or df_key(t), 0) + 1)) + 1.0 for t in terms}
    vectors, tops, kws = [], [], []
    for p in prepared:
        weights = {t: (tf[n] if n < 1024 else _tf(n)) * idf[t] for t, n in p.counts.items()}
        norm = math.hypot(*weights.values()) or 1.0
        vectors.append(vector := {t: x / norm for t, x in weights.items()})
        # Heaviest first; a stable sort of the terms in text order, so every run ranks equals alike.
        order = sorted(weights, key=weights.__getitem__, reverse=True)
        tops.append({t: vector[t] for t in order[:TOP_TERMS]})
        # Keywords come from the lead first (see LEAD_WORDS), heaviest first.
        lead = p.lead
        ranked = [t for t in order if t in lead]
        if len(ranked) < keywords:
            ranked += [t for t in order if t not in lead]
        kws.append(tuple(ranked[:keywords]))
    keyword_bands = band_keys(minhashes(kws, num_perm), bands)
    sketches = shingle_sketches([p.body_words for p in prepared])
    return [
        Features(
            vector=vec,
            top=top,
            keywords=kw,
            bands=tuple(ks),
            shingle_sig=sketch,
            length=len(p.body_words),
        )
        for p, vec, top, kw, ks, sketch in zip(
            prepared, vectors, tops, kws, keyword_bands, sketches, strict=True
        )
    ]


_TF_TABLE = [0.0] + [1.0 + math.log(n) for n in range(1, 1024)]


def _tf(n: int) -> float:
    """Sub-linear term frequency: the tenth mention of a word says less than the first."""
    return _TF_TABLE[n] if n < len(_TF_TABLE) else 1.0 + math.log(n)


def minhashes(token_sets: Sequence[Sequence[str]], num_perm: int) -> np.ndarray:
    """MinHash signatures of many token sets at once: one row per set, equal to datasketch's
    `MinHash.bulk` (a test holds them equal). datasketch applies its permutations set by set; here
    one numpy expression permutes every token of the batch and `minimum.reduceat` takes each set's
    minimum, with datasketch's own permutations and pre-mix."""
    template = _template(num_perm)
    a, b = template.permutations
    sizes = [max(1, len(tokens)) for tokens in token_sets]
    hashed = np.fromiter(
        (_hash32(t.encode()) for tokens in token_sets for t in (tokens or ("",))),
        dtype=np.uint32, count=sum(sizes),
    )  # fmt: skip
    permuted = _fmix(hashed, 32)[:, None] * a + b  # uint32 arithmetic wraps, as datasketch's does
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.minimum.reduceat(permuted, starts, axis=0).astype(np.uint64)


@functools.cache
def _template(num_perm: int) -> MinHash:
    template = MinHash(num_perm=num_perm, seed=_SEED, hashfunc=_hash32, scheme="affine32")
    assert template.permutations.dtype == np.uint32, "datasketch changed its affine32 scheme"
    return template


def band_keys(signatures: np.ndarray, bands: int) -> list[list[str]]:
    """Per signature, one key per band: two articles whose rows of a band all agree share that bucket.

    A band's rows are mixed into 40 bits and the band number put above them, all in numpy.
    """
    n, width = signatures.shape
    rows = signatures.reshape(n, bands, width // bands)
    mixed = np.zeros((n, bands), dtype=np.uint64)
    for r in range(rows.shape[2]):
        mixed = (mixed ^ rows[:, :, r]) * _MIX[r % len(_MIX)]
        mixed ^= mixed >> np.uint64(32)
    keys = (mixed & np.uint64((1 << 40) - 1)) | (np.arange(bands, dtype=np.uint64) << np.uint64(40))
    return [list(map(str, k)) for k in keys.tolist()]


def shingle_sketch(words: Sequence[str], size: int = SKETCH_SIZE) -> tuple[int, ...]:
    """Bottom-k sketch of the 3-word shingles (case ignored): the `size` smallest shingle hashes."""
    return shingle_sketches([words], size)[0]


# Shingle hashes are 58 bits, so that one sort of (text << 58 | hash) orders a whole batch, text by
# text: up to 64 texts a sort.
_HASH_BITS = 58
_TEXTS_PER_SORT = 1 << (64 - _HASH_BITS)


def shingle_sketches(word_lists: Sequence[Sequence[str]], size: int = SKETCH_SIZE) -> list[tuple[int, ...]]:
    """`shingle_sketch` of many texts at once, in numpy over the batch's words: a shingle's hash mixes
    its three words' hashes, so no string is built per shingle. A text of one or two words is sketched
    by its words' hashes."""
    out: list[tuple[int, ...]] = []
    for i in range(0, len(word_lists), _TEXTS_PER_SORT):
        out += _sketches(word_lists[i : i + _TEXTS_PER_SORT], size)
    return out


def _sketches(word_lists: Sequence[Sequence[str]], size: int) -> list[tuple[int, ...]]:
    every = list(itertools.chain.from_iterable(word_lists))
    if not every:
        return [() for _ in word_lists]
    if len(_WORD_HASH) >= _WORD_HASH_MAX:
        _WORD_HASH.clear()
    # A word not seen before reads as 0 (a real hash is 0 once in 2^64) and is hashed on its own.
    h = np.fromiter(map(_WORD_HASH.get, every, itertools.repeat(0)), dtype=np.uint64, count=len(every))
    for at in np.flatnonzero(h == 0).tolist():
        h[at] = _WORD_HASH[every[at]] = xxhash.xxh64_intdigest(every[at].lower().encode())
    sizes = np.array([len(words) for words in word_lists], dtype=np.int64)
    text = np.repeat(np.arange(len(word_lists), dtype=np.uint64), sizes)
    # A shingle starts at every word but its text's last two; in a text of under three words each word
    # stands for itself.
    long_texts = sizes >= 3
    shingles = np.zeros_like(h)  # a text's last two words start none: dropped below
    shingles[:-2] = h[:-2] * _MIX[0] + h[1:-1] * _MIX[1] + h[2:] * _MIX[2]
    h = np.where(np.repeat(long_texts, sizes), shingles, h)
    starts = np.ones(len(text), dtype=bool)
    ends = np.cumsum(sizes)
    for back in (1, 2):
        starts[(ends - back)[long_texts]] = False
    h, text = h[starts], text[starts]
    h ^= h >> np.uint64(31)
    h *= _MIX[1]
    h ^= h >> np.uint64(29)
    keys = np.sort((text << np.uint64(_HASH_BITS)) | (h >> np.uint64(64 - _HASH_BITS)))
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # each text's distinct hashes
    text = keys >> np.uint64(_HASH_BITS)
    counts = np.bincount(text.astype(np.intp), minlength=len(word_lists))
    rank = np.arange(len(keys)) - np.repeat(np.cumsum(counts) - counts, counts)
    kept = keys[rank < size] & np.uint64((1 << _HASH_BITS) - 1)
    bounds = np.cumsum(np.minimum(counts, size)).tolist()
    flat = kept.tolist()
    return [tuple(flat[a:b]) for a, b in zip([0, *bounds[:-1]], bounds, strict=True)]


def sketch_jaccard(a: Sequence[int], b: Sequence[int], size: int = SKETCH_SIZE) -> float:
    """Estimated Jaccard of two shingle sets from their bottom-k sketches."""
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union = sorted(sa | sb)[:size]
    return sum(1 for x in union if x in sa and x in sb) / len(union)


def sketch_jaccard_at_most(a: set[int], b: Sequence[int], size: int = SKETCH_SIZE) -> float:
    """A cheap upper bound of `sketch_jaccard`: the estimate only counts hashes both sketches hold."""
    both = len(a.intersection(b))
    return both / max(1, min(size, len(a) + len(b) - both))


def dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    # The shared terms are found in C; Python then visits only those, usually a small share of either.
    # fsum is exact, so the set's (hash-seeded) order cannot change the result.
    return math.fsum([a[t] * b[t] for t in a.keys() & b.keys()])
