"""A batch's content-term counts, in numpy: each token is looked up once, as an id.

A token's id indexes arrays of what is known about the word (its content term, its case, the id of its
lower-cased form, its hash for the shingle sketch), so a batch's tokens become one array of ids, and
the counts, the name rule, the lead and the sketch's word hashes are numpy expressions over it: per
token, one dict lookup; per new word, one classification. Counting word by word in Python would cost
more than all the rest of clustering.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import numpy as np
import xxhash

from aggregator.core import text

# Document frequencies are counted in a fixed number of slots, a term's slot picked by its hash: a
# counter per term would grow forever on a stream that keeps bringing new names. With 2^21 slots a
# rare term shares its slot with one of the ~10k common words 0.5% of the time, and then only
# weighs less. Changing this renumbers every counter: it is a constant, not a setting.
DF_SLOTS = 1 << 21


def term_hash(term: str) -> int:
    """How vectors, centroids, summaries and keywords name a term: its xxh32. Four bytes where the index
    stores it, and the same hash the keyword MinHash and the df slots start from."""
    return xxhash.xxh32_intdigest(term.encode())


def df_key(term: str) -> str:
    """The document-frequency counter `term` counts in."""
    return _slot_key(term_hash(term))


def _slot_key(term_hash: int) -> str:
    return format(term_hash % DF_SLOTS, "x")


class Vocabulary:
    """Written tokens -> ids, with what the counting needs of each word in arrays indexed by id.

    Ids never leave a batch, so its owner (`pipeline.ClusterPipeline`) may start a new one between
    batches once this one is `full`, with no change to any result. A batch's rows are only ever
    appended, so a `TermTable` reads its vocabulary safely while later batches are counted; counting
    itself (`ids_of`) is not for two threads at once, and the pipeline serialises it.
    """

    def __init__(self, limit: int = 500_000) -> None:
        self.limit = limit
        self.ids: dict[str, int] = {}
        self.size = 0
        self.term = np.zeros(1024, np.int64)  # its term's id; -1: stop word, number, single letter
        self.lowered = np.zeros(1024, np.int64)  # the id of the word lower-cased
        self.capital = np.zeros(1024, bool)  # written with a capital first letter
        self.small = np.zeros(1024, bool)  # written with a lower-case first letter
        self.hash = np.zeros(1024, np.uint64)  # xxh64 of the word lower-cased: the shingle sketch's
        self.terms: list[str] = []  # term id -> term
        self.term_ids: dict[str, int] = {}
        self.term_hash = np.zeros(1024, np.uint32)  # term id -> xxh32 of it: the keyword MinHash's
        self.words: list[str] = []  # id -> the word as written
        # Filled only when an article in another language than English is counted, for the words seen
        # by then: the term of each word whatever its language, and each language's stop words.
        self._any = np.zeros(0, np.int64)
        self._stops: dict[str, np.ndarray] = {}

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def slot_keys(self, term_ids: list[int]) -> list[str]:
        """The document-frequency slots (`df_key`) of these terms. Only a store that keys counters by
        name asks: the in-process counts index an array (`SlotCounts`)."""
        return list(map(_slot_key, self.term_hash[term_ids].tolist()))

    def ids_of(self, words: Sequence[str]) -> np.ndarray:
        ids = np.fromiter(map(self.ids.get, words, repeat(-1)), np.int64, len(words))
        missing = np.flatnonzero(ids < 0).tolist()
        if missing:
            new = list(map(words.__getitem__, missing))
            self._add(list(dict.fromkeys(new)))
            ids[missing] = np.fromiter(map(self.ids.__getitem__, new), np.int64, len(new))
        return ids

    def _add(self, words: list[str]) -> None:
        """Give new words ids, their lower-cased forms first: a word's row names its lower-cased form's."""
        fresh = [w for w in dict.fromkeys(chain(map(str.lower, words), words)) if w not in self.ids]
        start, end = self.size, self.size + len(fresh)
        self.ids.update(zip(fresh, range(start, end), strict=True))
        self.words += fresh
        lowered = [w.lower() for w in fresh]
        terms = text.terms(lowered)
        self._add_terms(terms)
        if end > len(self.term):
            for name in ("term", "lowered", "capital", "small", "hash"):
                setattr(self, name, np.resize(getattr(self, name), 2 * end))
        # fromiter with the dtype given: assigning a list makes numpy discover each element's type.
        n = end - start
        self.term[start:end] = np.fromiter(map(self.term_ids.get, terms, repeat(-1)), np.int64, n)  # "": -1
        self.lowered[start:end] = np.fromiter(map(self.ids.__getitem__, lowered), np.int64, n)
        initials = list(map(_INITIAL, fresh))
        self.capital[start:end] = np.fromiter(map(str.isupper, initials), bool, n)
        self.small[start:end] = np.fromiter(map(str.islower, initials), bool, n)
        hashed = map(xxhash.xxh64_intdigest, map(str.encode, lowered))
        self.hash[start:end] = np.fromiter(hashed, np.uint64, n)
        self.size = end

    def _add_terms(self, terms: Sequence[str]) -> None:
        known = len(self.terms)
        new_terms = [t for t in dict.fromkeys(terms) if t and t not in self.term_ids]
        self.term_ids.update(zip(new_terms, range(known, known + len(new_terms)), strict=True))
        self.terms += new_terms
        if len(self.terms) > len(self.term_hash):
            self.term_hash = np.resize(self.term_hash, 2 * len(self.terms))
        # One xxh32 per term serves both its MinHash input and its df slot (`df_key`).
        hashes = map(xxhash.xxh32_intdigest, map(str.encode, new_terms))
        self.term_hash[known : len(self.terms)] = np.fromiter(hashes, np.uint32, len(new_terms))

    def any_terms(self) -> np.ndarray:
        """Word id -> its term whatever its language (`text.any_term`; -1 for numbers, single letters)."""
        done = len(self._any)
        if done < self.size:
            lowered = [self.words[i] for i in self.lowered[done : self.size].tolist()]
            anys = list(map(text.any_term, lowered))
            self._add_terms(anys)
            found = np.fromiter(map(self.term_ids.get, anys, repeat(-1)), np.int64, len(anys))
            self._any = np.concatenate([self._any, found])
        return self._any

    def stops(self, language: str) -> np.ndarray:
        """Word id -> whether the word, lower-cased, is one of `language`'s stop words."""
        known = self._stops.get(language, np.zeros(0, bool))
        done = len(known)
        if done < self.size:
            words = text.stop_words(language)
            lowered = (self.words[i] for i in self.lowered[done : self.size].tolist())
            fresh = np.fromiter((w in words for w in lowered), bool, self.size - done)
            known = self._stops[language] = np.concatenate([known, fresh])
        return known


_INITIAL = itemgetter(slice(0, 1))  # a word's first letter ("" for "")


@dataclass(frozen=True)
class TermTable:
    """A batch's content terms: one row per (article, term), grouped by article, each article's terms
    in the order its text first mentions them (body, then title), as a dict of counts would hold them."""

    articles: int
    article: np.ndarray  # row -> article index
    term: np.ndarray  # row -> term id in `vocabulary`
    count: np.ndarray  # row -> weighted count (title and name weights applied)
    lead: np.ndarray  # row -> whether the headline or the article's first `lead_words` name it
    word_hashes: np.ndarray  # the sketched words' hashes, article after article
    lengths: np.ndarray  # article -> its sketched words: the body's, or the headline's when it has none
    vocabulary: Vocabulary

    def names(self, rows: np.ndarray | None = None) -> list[str]:
        """The terms of these rows (all rows when None)."""
        ids = self.term if rows is None else self.term[rows]
        return list(map(self.vocabulary.terms.__getitem__, ids.tolist()))

    def per_article(self, values: list[Any] | None, rows: np.ndarray | None = None) -> list[list[Any]]:
        """`values` (one per row of `rows`; the terms when None) cut into one list per article. `rows`
        (all rows when None) must keep the articles' order, as sorts within each article do."""
        flat: list[Any] = self.names(rows) if values is None else values
        article = self.article if rows is None else self.article[rows]
        ends = np.cumsum(np.bincount(article, minlength=self.articles)).tolist()
        return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    @functools.cached_property
    def df_keys(self) -> list[list[str]]:
        """Per article, the document-frequency slots it adds one to when it is first indexed: each once,
        though two of its terms may share one."""
        rows = self.df_rows()
        return self.per_article(self.vocabulary.slot_keys(self.term[rows].tolist()), rows)

    def df_rows(self) -> np.ndarray:
        """The rows whose df slot no earlier row of the same article has."""
        rows = np.arange(len(self.term))
        slot = self.vocabulary.term_hash[self.term] % DF_SLOTS  # as `df_key` picks it
        slots = self.article * DF_SLOTS + slot
        order = np.argsort(slots, kind="stable")
        again = order[1:][slots[order[1:]] == slots[order[:-1]]]  # a slot's later rows
        return np.delete(rows, again) if len(again) else rows


class SlotCounts:
    """Document frequencies as one array of `DF_SLOTS` counters, read and counted in numpy: the
    in-process index's (the Redis index keeps them in a hash, read as a `fingerprint.DocFreq`)."""

    def __init__(self) -> None:
        self.docs = 0
        self.slots = np.zeros(DF_SLOTS, np.uint32)  # 8 MiB, whatever the stream

    def of(self, vocab: Vocabulary, terms: np.ndarray) -> np.ndarray:
        """The counts of these terms' slots."""
        return self.slots[vocab.term_hash[terms] % DF_SLOTS].astype(np.float64)

    def add(self, table: TermTable, counted: Sequence[bool]) -> None:
        """Count the batch's `counted` articles: one in each slot an article's terms fall in."""
        rows = table.df_rows()
        term = table.term[rows[np.asarray(counted, bool)[table.article[rows]]]]
        # The one as the array's own type: a Python int sends `add.at` down numpy's slow generic path.
        np.add.at(self.slots, table.vocabulary.term_hash[term] % DF_SLOTS, np.uint32(1))
        self.docs += sum(counted)


def count_terms(
    docs: Sequence[tuple[list[str], list[str]]],
    lead_words: int,
    vocab: Vocabulary,
    languages: Sequence[str] = (),
    title_weight: int = 2,
    name_weight: int = 3,
) -> TermTable:
    """Content-term counts of (title tokens, body tokens) pairs, weighted for what names the event.

    Title words count `title_weight` times: headlines name the event. Names (words written capitalised
    and never lower-case in the article) count `name_weight` times: two stories of the same kind on the
    same day (two earthquakes, two coaches fired) share their vocabulary and differ in who and where.
    `languages` gives each article's (ISO 639-1; English where not given): its stop words are dropped.
    """
    ids = vocab.ids_of(list(chain.from_iterable(chain(body, title) for title, body in docs)))
    n = len(docs)
    body_n = np.array([len(body) for _, body in docs], dtype=np.int64)
    title_n = np.array([len(title) for title, _ in docs], dtype=np.int64)
    art = np.repeat(np.arange(n), body_n + title_n)
    pos = np.arange(len(ids)) - np.repeat(np.cumsum(body_n + title_n) - body_n - title_n, body_n + title_n)
    in_title = pos >= body_n[art]
    term = vocab.term[ids]
    for language in set(languages) - {"en"}:
        rows = np.flatnonzero(np.isin(art, [i for i, lang in enumerate(languages) if lang == language]))
        chosen = vocab.any_terms()[ids[rows]]
        chosen[vocab.stops(language)[ids[rows]]] = -1
        term[rows] = chosen
    kept = term >= 0
    # A capitalised content word is a name unless the article also writes it lower-case. Only the
    # lower-case words that some capitalised one lowers to are searched: a fraction of the batch.
    width = vocab.size
    capital = vocab.capital[ids] & kept
    lowered = vocab.lowered[ids[capital]]
    wanted = np.zeros(width, bool)
    wanted[lowered] = True
    small = vocab.small[ids] & wanted[ids]
    name = np.zeros(len(ids), bool)
    name[capital] = ~_within(art[capital] * width + lowered, art[small] * width + ids[small])
    weight = np.where(in_title, title_weight, 1) * np.where(name, name_weight, 1)
    terms = max(1, len(vocab.terms))  # read after the other languages' terms were added
    keys = art[kept] * terms + term[kept]
    pairs, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # first mention order, article by article
    counts = np.bincount(inverse, weights=weight[kept], minlength=len(pairs)).astype(np.int64)
    lead = np.bincount(inverse, weights=(in_title | (pos < lead_words))[kept], minlength=len(pairs)) > 0
    # The sketch reads the body; a headline-only item is compared by its headline's wording.
    sketched = ~in_title | (body_n[art] == 0)
    return TermTable(
        articles=n,
        article=pairs[order] // terms,
        term=pairs[order] % terms,
        count=counts[order],
        lead=lead[order],
        word_hashes=vocab.hash[ids[sketched]],
        lengths=np.where(body_n > 0, body_n, title_n),
        vocabulary=vocab,
    )


def _within(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """`np.isin` by a sort and a binary search: on a batch's few thousand keys, many times faster than
    `isin` and `unique`, which allocate for the keys' whole range or hash them."""
    if not len(among):
        return np.zeros(len(values), bool)
    among = np.sort(among)
    at = np.minimum(np.searchsorted(among, values), len(among) - 1)
    return among[at] == values
