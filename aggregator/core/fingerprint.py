"""Fingerprints: TF-IDF vectors, distinctive keywords, their MinHash band keys and a shingle sketch.

Hashing is batched: one numpy expression computes a whole batch's keyword MinHashes with datasketch's
permutations, and one numpy pass computes the batch's shingle sketches from one hash per word.
"""

from __future__ import annotations

import functools
import itertools
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import xxhash
from datasketch import MinHash

from aggregator.core import text
from aggregator.core.furniture import strip_furniture
from aggregator.core.models import Article, Features
from aggregator.core.terms import TermTable, Vocabulary, count_terms

_SEED = 1
SKETCH_SIZE = 64  # shingle hashes kept: tells a copy (Jaccard >= 0.5) from a rewrite (< 0.1) with room
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)


def _hash32(data: bytes) -> int:
    return xxhash.xxh32_intdigest(data)


# The IDF counts this many documents more than were seen, documents that held none of the terms: it
# adds log((n + 11) / (n + 1)) to every IDF, much after two documents, little after a hundred. In a
# young stream the counts say little: after two articles about one event, a word both had would weigh
# half of one only the newcomer has, the newcomer's keywords would be all its own, and the LSH search
# would miss its story. Kept small: a large prior flattens the IDF for hundreds of documents and
# merges unrelated ones.
IDF_PRIOR_DOCS = 10


class DocFrequencies(Protocol):
    """Document frequencies seen so far: what makes a word distinctive."""

    @property
    def docs(self) -> int: ...

    def of(self, vocab: Vocabulary, terms: np.ndarray) -> np.ndarray:
        """The documents counted in these terms' df slots, as floats."""
        ...


@dataclass(frozen=True)
class DocFreq:
    """Document frequencies read from a store: the slots a batch needs."""

    docs: int
    df: Mapping[str, int]  # df_key -> documents counted in that slot

    def of(self, vocab: Vocabulary, terms: np.ndarray) -> np.ndarray:
        slots = vocab.slot_keys(terms.tolist())
        return np.fromiter(map(self.df.get, slots, itertools.repeat(0)), np.float64, len(terms))


def clean_parts(article: Article) -> tuple[str, str]:
    """Title and body as compared: normalised, page furniture cut."""
    title = text.normalise(article.title)
    return title, strip_furniture(text.normalise(article.text), title)


# A news story states its event in the headline and the first sentences (the inverted pyramid), and a
# rewrite restates them there; the rest of a page is background, quotes and, on many pages, furniture
# that no heading announced. So the keywords the LSH search hashes are taken from the lead first: a page
# whose text ends in other stories' teasers still finds its own story.
LEAD_WORDS = 100
# An article is compared (cosines, story centroids, the split check) by its heaviest terms, not all of
# them: a long article's tail of terms named once or twice says little about its event, and shorter
# vectors make the cosines, the centroid sums and the split check's matrices a fraction of the work.
TOP_TERMS = 64


@dataclass(frozen=True)
class FeatureParams:
    """How the keyword search is hashed. `Settings.feature_params()` gives the production values."""

    keywords: int  # distinctive terms per article fed to the MinHash
    num_perm: int  # MinHash permutations
    bands: int  # LSH bands; rows per band = num_perm / bands


def prepare(article: Article) -> tuple[list[str], list[str]]:
    """An article's title and body tokens, as compared."""
    title, body = clean_parts(article)
    return text.tokens(title), text.tokens(body)


def prepare_batch(articles: Sequence[Article], vocab: Vocabulary) -> TermTable:
    """A batch's term counts: computed once, before the IDF statistics are fetched."""
    return count_terms([prepare(a) for a in articles], LEAD_WORDS, vocab, [a.language for a in articles])


def features_batch(table: TermTable, freq: DocFrequencies, params: FeatureParams) -> list[Features]:
    n, article, vocab = table.articles, table.article, table.vocabulary
    keywords = params.keywords
    # Smoothed IDF: a word never seen gets the highest weight, one in every document about 1.
    batch_terms, at = np.unique(table.term, return_inverse=True)
    df = freq.of(vocab, batch_terms)
    idf = np.log((freq.docs + 1 + IDF_PRIOR_DOCS) / (df + 1)) + 1.0
    weight = _tf(table.count) * idf[at]
    # Each article's rows ranked: heaviest first, equals in the order the text first names them (a
    # stable sort), so every run ranks them alike. Keywords come from the lead first (see LEAD_WORDS).
    per = np.bincount(article, minlength=n)
    rank = np.arange(len(article)) - np.repeat(np.cumsum(per) - per, per)
    heaviest = np.lexsort((-weight, article))
    # The vector is the heaviest TOP_TERMS terms made unit length (see TOP_TERMS).
    top = heaviest[rank < TOP_TERMS]
    top_weight = weight[top]
    norm = np.sqrt(np.bincount(article[top], top_weight * top_weight, minlength=n))
    unit = top_weight / np.where(norm > 0, norm, 1.0)[article[top]]
    # Terms go by their hashes (`terms.term_hash`) and weights in half precision (three significant
    # digits), all a cosine needs: an index keeps a term in 6 bytes (`store/packing.py`).
    unit_rows = table.per_article(unit.astype(np.float16).astype(np.float64).tolist(), top)
    hashes = table.per_article(vocab.term_hash[table.term[top]].tolist(), top)
    vectors = [dict(zip(t, v, strict=True)) for t, v in zip(hashes, unit_rows, strict=True)]
    lead_first = np.argsort(article[heaviest] * 2 + ~table.lead[heaviest], kind="stable")
    chosen = heaviest[lead_first][rank < keywords]
    hashed = vocab.term_hash[table.term[chosen]]
    kws = [tuple(terms) for terms in table.per_article(hashed.tolist(), chosen)]
    sizes = np.bincount(article[chosen], minlength=n)
    keyword_bands = band_keys(_minhash_rows(hashed, sizes, params.num_perm), params.bands)
    sketches = _sketch_hashes(table.word_hashes, table.lengths)
    return [
        Features(vector=vec, keywords=kw, bands=tuple(ks), shingle_sig=sketch, length=length)
        for vec, kw, ks, sketch, length in zip(
            vectors, kws, keyword_bands, sketches, table.lengths.tolist(), strict=True
        )
    ]


_TF_TABLE = np.array([0.0] + [1.0 + math.log(n) for n in range(1, 1024)])


def _tf(counts: np.ndarray) -> np.ndarray:
    """Sub-linear term frequency: the tenth mention of a word says less than the first."""
    if len(counts) and counts.max() >= len(_TF_TABLE):
        return 1.0 + np.log(np.maximum(counts, 1))
    return _TF_TABLE[counts]


def minhashes(token_sets: Sequence[Sequence[str]], num_perm: int) -> np.ndarray:
    """MinHash signatures of many token sets at once: one row per set, equal to datasketch's
    `MinHash.bulk` (a test holds them equal)."""
    hashed = np.fromiter(
        (_hash32(t.encode()) for tokens in token_sets for t in tokens), dtype=np.uint32
    )  # fmt: skip
    return _minhash_rows(hashed, np.array([len(tokens) for tokens in token_sets]), num_perm)


def _minhash_rows(hashed: np.ndarray, sizes: np.ndarray, num_perm: int) -> np.ndarray:
    """MinHash signatures of sets given as their members' xxh32 hashes, set after set. datasketch
    applies its permutations set by set; here one numpy expression permutes every member of the batch
    and `minimum.reduceat` takes each set's minimum, with datasketch's own permutations and pre-mix."""
    template = _template(num_perm)
    a, b = template.permutations
    if not sizes.all():  # datasketch hashes an empty set as the set of one empty string
        ends = np.cumsum(sizes)
        hashed = np.insert(hashed, ends[sizes == 0], _hash32(b""))
        sizes = np.maximum(sizes, 1)
    permuted = fmix32(hashed.astype(np.uint32))[:, None] * a + b  # uint32 arithmetic wraps, as datasketch's
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.minimum.reduceat(permuted, starts, axis=0).astype(np.uint64)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, the pre-mix datasketch's "affine32" scheme applies to each input
    hash before its permutations (a test holds our signatures equal to `MinHash.bulk`)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


@functools.cache
def _template(num_perm: int) -> MinHash:
    template = MinHash(num_perm=num_perm, seed=_SEED, hashfunc=_hash32, scheme="affine32")
    assert template.permutations.dtype == np.uint32, "datasketch changed its affine32 scheme"
    return template


def band_keys(signatures: np.ndarray, bands: int) -> list[list[int]]:
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
    return keys.tolist()  # type: ignore[no-any-return]  # ints: no string per band to build


def shingle_sketch(words: Sequence[str], size: int = SKETCH_SIZE) -> tuple[int, ...]:
    """Bottom-k sketch of the 3-word shingles (case ignored): the `size` smallest shingle hashes."""
    return shingle_sketches([words], size)[0]


# Shingle hashes are 32 bits: chance collisions between two texts' 64 smallest stay rare (one shared
# hash moves a Jaccard estimate by a 64th), an index keeps each in 4 bytes, and one sort of
# (text << 32 | hash) orders a whole batch, text by text.
_HASH_BITS = 32
_TEXTS_PER_SORT = 1 << (64 - _HASH_BITS)


def shingle_sketches(word_lists: Sequence[Sequence[str]], size: int = SKETCH_SIZE) -> list[tuple[int, ...]]:
    """`shingle_sketch` of many texts at once."""
    vocab = Vocabulary()
    hashes = vocab.hash[vocab.ids_of(list(itertools.chain.from_iterable(word_lists)))]
    return _sketch_hashes(hashes, np.array([len(words) for words in word_lists], dtype=np.int64), size)


def _sketch_hashes(
    word_hashes: np.ndarray, sizes: np.ndarray, size: int = SKETCH_SIZE
) -> list[tuple[int, ...]]:
    """Sketches of texts given as their words' hashes, text after text, in numpy: a shingle's hash mixes
    its three words' hashes, so no string is built per shingle. A text of one or two words is sketched
    by its words' hashes."""
    out: list[tuple[int, ...]] = []
    ends = np.cumsum(sizes).tolist()
    for i in range(0, len(sizes), _TEXTS_PER_SORT):
        chunk = sizes[i : i + _TEXTS_PER_SORT]
        start = ends[i - 1] if i else 0
        out += _sketches(word_hashes[start : start + int(chunk.sum())], chunk, size)
    return out


def _sketches(h: np.ndarray, sizes: np.ndarray, size: int) -> list[tuple[int, ...]]:
    if not len(h):
        return [() for _ in sizes]
    text = np.repeat(np.arange(len(sizes), dtype=np.uint64), sizes)
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
    counts = np.bincount(text.astype(np.intp), minlength=len(sizes))
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


def sketch_containment(a: Sequence[int], b: Sequence[int], min_samples: int = 8) -> float:
    """Estimated share of the smaller text's shingles that the other text holds (a trimmed copy is
    contained in its source), from two sorted bottom-k sketches: below the smaller of their largest
    hashes each sketch holds every hash its text has, so there the hashes are exact samples of both
    texts. 0.0 when the smaller text gives fewer than `min_samples` samples there."""
    if not a or not b:
        return 0.0
    cut = min(a[-1], b[-1])
    sa, sb = a[: bisect_right(a, cut)], b[: bisect_right(b, cut)]
    small = min(len(sa), len(sb))
    if small < min_samples:
        return 0.0
    return len(set(sa).intersection(sb)) / small


def sketch_jaccard_at_most(both: int, a: int, b: int, size: int = SKETCH_SIZE) -> float:
    """A cheap upper bound of `sketch_jaccard` of two sketches of `a` and `b` hashes holding `both` in
    common: the estimate only counts hashes both sketches hold."""
    return both / max(1, min(size, a + b - both))
