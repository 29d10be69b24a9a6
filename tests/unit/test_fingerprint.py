"""Fingerprints: term counts, TF-IDF vectors, keywords, their MinHash bands and the shingle sketch,
each checked against the same thing computed one article (or one word) at a time."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import xxhash
from datasketch import MinHash

from aggregator.core import text
from aggregator.core.fingerprint import (
    LEAD_WORDS,
    SKETCH_SIZE,
    TOP_TERMS,
    DocFreq,
    _hash32,
    band_keys,
    features_batch,
    minhashes,
    prepare_batch,
    shingle_sketch,
    shingle_sketches,
    sketch_jaccard,
    sketch_jaccard_at_most,
)
from aggregator.core.models import Article, Record
from aggregator.core.terms import SlotCounts, TermTable, Vocabulary, count_terms, df_key, term_hash
from aggregator.settings import defaults
from aggregator.store.memory_index import MemoryIndex
from tests.fixtures.stories import (
    FEATURE_BODY,
    FEATURE_TITLE,
    REWRITE_BODY,
    REWRITE_TITLE,
    UNRELATED,
    WIRE_BODY,
    WIRE_TITLE,
)

PARAMS = defaults().feature_params()


def _article(aid: str, title: str, body: str) -> Article:
    return Article(id=aid, url=f"http://x/{aid}", feed_id="f", title=title, text=body, source="x",
                   published=0.0, fetched=0.0)  # fmt: skip


def test_shingle_sketch_tells_copies_from_rewrites() -> None:
    wire = shingle_sketch(text.tokens(WIRE_BODY))
    assert len(wire) == SKETCH_SIZE
    assert sketch_jaccard(wire, shingle_sketch(text.tokens(WIRE_BODY.upper()))) == 1.0  # case ignored
    trimmed = WIRE_BODY.rsplit("\n\n", 2)[0]
    assert sketch_jaccard(wire, shingle_sketch(text.tokens(trimmed))) > 0.6
    assert sketch_jaccard(wire, shingle_sketch(text.tokens(REWRITE_BODY))) < 0.1
    for other in (trimmed, REWRITE_BODY):  # the cheap bound never under-estimates
        sig = shingle_sketch(text.tokens(other))
        both = len(set(wire).intersection(sig))
        assert sketch_jaccard_at_most(both, len(wire), len(sig)) >= sketch_jaccard(wire, sig)


def _sketch_one_by_one(words: list[str]) -> tuple[int, ...]:
    """The sketch spelled out in Python integers: each shingle's hash mixed from its words' xxh64 as
    `shingle_sketches` mixes them, its top 32 bits, the 64 smallest distinct ones."""
    mask, mix = (1 << 64) - 1, [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9]
    h = [xxhash.xxh64_intdigest(w.lower().encode()) for w in words]
    if len(h) >= 3:
        h = [(h[i] * mix[0] + h[i + 1] * mix[1] + h[i + 2] * mix[2]) & mask for i in range(len(h) - 2)]
    out = set()
    for x in h:
        x ^= x >> 31
        x = (x * mix[1]) & mask
        x ^= x >> 29
        out.add(x >> 32)
    return tuple(sorted(out)[:SKETCH_SIZE])


def test_batched_sketches_equal_each_text_sketched_alone() -> None:
    texts = [text.tokens(WIRE_BODY), [], ["Venn"], ["two", "Words"], text.tokens(REWRITE_BODY)]
    bodies = [body for _, body in UNRELATED.values()]
    texts += [text.tokens(f"{bodies[i % len(bodies)]} {i}") for i in range(70)]  # more than one sort holds
    assert shingle_sketches(texts) == [_sketch_one_by_one(t) for t in texts]
    assert shingle_sketch(texts[0]) == _sketch_one_by_one(texts[0])


def test_vector_is_the_heaviest_terms_at_unit_length() -> None:
    table = prepare_batch([_article("w", WIRE_TITLE, WIRE_BODY)], Vocabulary())
    (f,) = features_batch(table, DocFreq(0, {}), PARAMS)
    # With no document seen every IDF is equal: the heaviest terms are the most counted, equals in the
    # order the text first names them (`_counts` lists them in that order; `sorted` is stable).
    counts = _counts(table, 0)
    assert len(counts) > TOP_TERMS
    assert list(f.vector) == [term_hash(t) for t in sorted(counts, key=lambda t: -counts[t][0])[:TOP_TERMS]]
    assert math.isclose(math.fsum(v * v for v in f.vector.values()), 1.0, rel_tol=2e-3)  # half precision


def _hashes(*words: str) -> set[int]:
    """Terms as features name them."""
    return {term_hash(w) for w in words}


def _counts(table: TermTable, article: int) -> dict[str, tuple[int, bool]]:
    rows = np.flatnonzero(table.article == article)
    counts = zip(table.count[rows].tolist(), table.lead[rows].tolist(), strict=True)
    return dict(zip(table.names(rows), counts, strict=True))


def test_names_weigh_more_than_common_words() -> None:
    body = "Marrow said the bridge is shut. The bridge shut, said marrow sellers. Venn"
    counts = _counts(count_terms([([], text.tokens(body))], LEAD_WORDS, Vocabulary()), 0)
    assert counts["venn"][0] == 3 and counts["bridge"][0] == 2  # a name counts three times per mention
    assert counts["marrow"][0] == 2  # written lower-case once: not a name


def _counts_one_by_one(title: list[str], body: list[str]) -> dict[str, tuple[int, bool]]:
    """The term counts spelled out word by word: title words twice, names (capitalised and never
    written lower-case in the article) three times; lead terms are the title's and the first
    LEAD_WORDS body words'; terms in the order the body, then the title, first names them."""
    written_small = {w for w in body + title if w[0].islower()}
    lead = {text.term(w.lower()) for w in title + body[:LEAD_WORDS]}
    counts: dict[str, int] = {}
    for words, weight in ((body, 1), (title, 2)):
        for w in words:
            if t := text.term(w.lower()):
                name = w[0].isupper() and w.lower() not in written_small
                counts[t] = counts.get(t, 0) + weight * (3 if name else 1)
    return {t: (n, t in lead) for t, n in counts.items()}


def test_batched_term_counts_equal_each_article_counted_alone() -> None:
    docs = [(text.tokens(t), text.tokens(b)) for t, b in [(WIRE_TITLE, WIRE_BODY), *UNRELATED.values()]]
    docs += [([], []), (text.tokens("Venn Venn venn"), []), ([], text.tokens("Marrow marrow MARROW x 12"))]
    docs += [(text.tokens(REWRITE_TITLE), text.tokens(REWRITE_BODY.lower() + " " + REWRITE_BODY))]
    table = count_terms(docs, LEAD_WORDS, Vocabulary())
    for i, (title, body) in enumerate(docs):
        expected = _counts_one_by_one(title, body)
        assert list(_counts(table, i).items()) == list(expected.items())  # the same order too
    assert table.lengths.tolist() == [len(b) or len(t) for t, b in docs]
    vocab = table.vocabulary
    assert vocab.slot_keys(table.term.tolist()) == [df_key(vocab.terms[i]) for i in table.term.tolist()]


def test_an_article_counts_once_in_a_slot_two_of_its_terms_share() -> None:
    seen: dict[str, str] = {}
    for i in range(100_000):  # two made-up words whose terms share a df slot (a birthday search)
        word = f"zq{i}x"
        if (slot := df_key(text.term(word))) in seen:
            pair = [seen[slot], word]
            break
        seen[slot] = word
    table = count_terms([([], [*pair, "ferry"]), ([], ["ferry", *pair])], LEAD_WORDS, Vocabulary())
    assert [sorted(keys) for keys in table.df_keys] == [sorted({slot, df_key("ferry")})] * 2
    counts = SlotCounts()
    counts.add(table, [True] * table.articles)
    assert counts.docs == 2 and int(counts.slots.sum()) == 4  # two slots, each counted once per article


def test_slot_counts_read_as_a_store_read_the_same_keys() -> None:
    arts = [_article("w", WIRE_TITLE, WIRE_BODY), _article("r", REWRITE_TITLE, REWRITE_BODY)]
    counts, stored = SlotCounts(), Counter[str]()
    for a in [*arts, _article("c", *UNRELATED["chess"])]:
        table = prepare_batch([a], Vocabulary())
        counts.add(table, [True] * table.articles)
        stored.update(table.df_keys[0])
    table = prepare_batch(arts, Vocabulary())
    terms = np.unique(table.term)
    in_array = counts.of(table.vocabulary, terms)
    assert in_array.tolist() == DocFreq(3, stored).of(table.vocabulary, terms).tolist()
    assert in_array.max() == 2 and in_array.min() == 1  # shared by wire and rewrite; either's own
    assert features_batch(table, counts, PARAMS) == features_batch(table, DocFreq(3, stored), PARAMS)


def test_a_vocabulary_holding_other_words_changes_no_feature() -> None:
    # Ids never leave a batch: a pipeline may start a new vocabulary between batches.
    arts = [_article("w", WIRE_TITLE, WIRE_BODY), _article("r", REWRITE_TITLE, REWRITE_BODY)]
    used = Vocabulary()
    count_terms([(["Zebraquux", "Bridge"], ["kestrel", "norvale"])], LEAD_WORDS, used)
    earlier = prepare_batch(arts, used)
    names = earlier.names()
    fresh = prepare_batch(arts, Vocabulary())
    freq = DocFreq(3, {df_key("bridge"): 2})
    assert features_batch(fresh, freq, PARAMS) == features_batch(earlier, freq, PARAMS)
    assert fresh.vocabulary.ids != used.ids
    # A table keeps reading the vocabulary it was counted with, whatever is counted after it.
    prepare_batch([_article("c", *UNRELATED["chess"])], used)
    assert earlier.names() == names


def test_batched_minhashes_equal_datasketch_bulk() -> None:
    # The batch is hashed in one numpy expression; the signatures must stay datasketch's own.
    sets = [["canada", "hikvision", "order"], [], ["x"], [f"w{i}" for i in range(40)], ["canada", "order"]]
    ours = minhashes(sets, 128)
    encoded = [[t.encode() for t in s] or [b""] for s in sets]
    bulk = MinHash.bulk(encoded, num_perm=128, seed=1, hashfunc=_hash32)
    assert ours.shape == (5, 128)
    assert np.array_equal(ours, np.vstack([m.hashvalues.astype(np.uint64) for m in bulk]))


def test_a_young_stream_keeps_the_story_names_among_a_newcomers_keywords() -> None:
    # Two articles seen, both naming Norvale's Kestrel Bridge. A raw IDF would weigh those names below
    # every word the newcomer has alone, and the LSH search, which hashes the keywords, would miss the story.
    df: Counter[str] = Counter()
    for title, body in [(WIRE_TITLE, WIRE_BODY), (REWRITE_TITLE, REWRITE_BODY)]:
        df.update(prepare_batch([_article("seen", title, body)], Vocabulary()).df_keys[0])
    (f,) = features_batch(
        prepare_batch([_article("feature", FEATURE_TITLE, FEATURE_BODY)], Vocabulary()),
        DocFreq(2, df),
        PARAMS,
    )
    assert _hashes("norvale", "kestrel", "bridge") <= set(f.keywords[:6])


def test_keywords_come_from_the_lead_not_from_teasers_at_the_end() -> None:
    # A portal page: the story, then other stories' headlines and first lines with no heading to cut at.
    teasers = "\n".join(f"{title}\n{body.split('. ')[0]}." for title, body in UNRELATED.values())
    df: Counter[str] = Counter()
    for title, body in [(WIRE_TITLE, WIRE_BODY), (FEATURE_TITLE, FEATURE_BODY)]:
        df.update(prepare_batch([_article("seen", title, body)], Vocabulary()).df_keys[0])
    portal = prepare_batch([_article("portal", REWRITE_TITLE, REWRITE_BODY + "\n" + teasers)], Vocabulary())
    (f,) = features_batch(portal, DocFreq(2, df), PARAMS)
    assert _hashes("norvale", "kestrel", "bridge") <= set(f.keywords[:5])
    assert not _hashes("tarrow", "castell", "orlandia", "delacre") & set(f.keywords)


def test_an_article_sharing_a_few_keywords_is_a_candidate() -> None:
    # Rewrites share few of their distinctive words. With the default bands an article sharing 3 of its 24
    # keywords (Jaccard 0.07) is found 96 times in 100 (2-row bands of 128 permutations: 1 in 4); one
    # sharing none never is.
    s = defaults()
    found = 0
    for n in range(50):
        shared = [f"name{n}-{i}" for i in range(3)]
        mine = shared + [f"a{n}-{i}" for i in range(21)]
        theirs = shared + [f"b{n}-{i}" for i in range(21)]
        other = [f"z{n}-{i}" for i in range(24)]
        a, b, z = band_keys(minhashes([mine, theirs, other], s.num_perm), s.lsh_bands)
        index = MemoryIndex(s.bucket_cap)
        index.add(Record("a", "sa", (), tuple(a), 0.0))
        hits = index.query(b)
        found += len(hits)
        assert all(c.record.article_id == "a" and c.shared < s.lsh_bands // 4 for c in hits)
        assert index.query(z) == []
    assert found >= 45
