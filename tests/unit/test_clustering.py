from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import xxhash
from datasketch import MinHash

from aggregator.core import canonical, text
from aggregator.core.clustering import Clusterer, Thresholds
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
from aggregator.core.index import MemoryIndex, Record
from aggregator.core.models import Article, Relation
from aggregator.core.scoring import score
from aggregator.core.terms import SlotCounts, TermTable, count_terms, current_vocabulary, df_key
from aggregator.settings import get_settings
from tests.fixtures.stories import (
    FEATURE_BODY,
    FEATURE_TITLE,
    OTHER_BRIDGE_BODY,
    OTHER_BRIDGE_TITLE,
    REWRITE_BODY,
    REWRITE_TITLE,
    UNRELATED,
    WIRE_BODY,
    WIRE_TITLE,
)


def _article(aid: str, title: str, body: str, t: float = 0.0) -> Article:
    return Article(id=aid, url=f"http://x/{aid}", feed_id="f", title=title, text=body, source="x",
                   published=t, fetched=t)  # fmt: skip


def _run(articles: list[Article]) -> dict[str, tuple[str, Relation]]:
    clusterer = Clusterer(Thresholds())
    index = MemoryIndex(64)
    df: Counter[str] = Counter()
    out = {}
    for i, a in enumerate(articles):  # one at a time, so earlier ones are in the IDF
        table = prepare_batch([a])
        freq = DocFreq(i, df)
        (f,) = features_batch(table, freq, 24, 128, 64)
        found = [index.query(f.bands)]
        (done,) = clusterer.assign([a.id], [f], [a.fetched], found, index.centroids_of(found))
        index.add(done.record, done.centroid)
        df.update(table.df_keys()[0])
        out[a.id] = (done.decision.story_id, done.decision.relation)
    return out


def test_centroid_norms_kept_between_batches_match_the_centroids() -> None:
    clusterer = Clusterer(Thresholds())
    index = MemoryIndex(64)
    df: Counter[str] = Counter()
    others = [_article(k, t, b) for k, (t, b) in UNRELATED.items()]
    arts = [*others, _article("wire", WIRE_TITLE, WIRE_BODY), _article("rw", REWRITE_TITLE, REWRITE_BODY)]
    arts += [_article("rw2", REWRITE_TITLE, REWRITE_BODY + " More."), _article("w2", WIRE_TITLE, WIRE_BODY)]
    arts += [_article("other", OTHER_BRIDGE_TITLE, OTHER_BRIDGE_BODY)]  # weighs the Kestrel story, apart
    kept = 0
    for i in range(0, len(arts), 2):  # batches of two: a story can grow twice within one
        batch = arts[i : i + 2]
        table = prepare_batch(batch)
        feats = features_batch(table, DocFreq(i, df), 24, 64, 64)  # one-row bands: "other" is found
        found = [index.query(f.bands) for f in feats]
        decided = clusterer.assign(
            [a.id for a in batch],
            feats,
            [a.fetched for a in batch],
            found,
            index.centroids_of(found),
            index.norms,
        )
        for done in decided:
            index.add(done.record, done.centroid)
        for keys in table.df_keys():
            df.update(keys)
        for sid, norm in index.norms.items():  # a stale norm would skew every later cosine
            assert norm == math.hypot(*index.centroids[sid].values())
        kept += len(index.norms)
    assert kept  # norms were kept between batches
    sid = index.records["wire"].story_id
    assert sid in index.norms and index.records["other"].story_id != sid
    index.split(sid, {sid: []}, {sid: {"other": 1.0}})
    assert sid not in index.norms


def test_copies_join_and_other_stories_stay_apart() -> None:
    others = [_article(k, t, b) for k, (t, b) in UNRELATED.items()]
    trimmed = WIRE_BODY.rsplit("\n\n", 2)[0]
    arts = [
        *others,
        _article("wire", WIRE_TITLE, WIRE_BODY),
        _article(
            "copy", "Gazette: " + WIRE_TITLE, WIRE_BODY + "\nRelated Articles\n" + UNRELATED["chess"][0]
        ),
        _article("trim", WIRE_TITLE.upper(), trimmed),
    ]
    out = _run(arts)
    assert out["wire"] == ("swire", Relation.CANONICAL)
    assert out["copy"] == ("swire", Relation.COPY)
    assert out["trim"][0] == "swire"
    assert len({out[k][0] for k in UNRELATED} | {"swire"}) == len(UNRELATED) + 1


def test_rewrite_joins_and_same_kind_of_event_stays_apart() -> None:
    others = [_article(k, t, b) for k, (t, b) in UNRELATED.items()]
    arts = [
        *others,
        _article("wire", WIRE_TITLE, WIRE_BODY),
        _article("other", OTHER_BRIDGE_TITLE, OTHER_BRIDGE_BODY),
        _article("rewrite", REWRITE_TITLE, REWRITE_BODY),
    ]
    out = _run(arts)
    assert out["rewrite"] == ("swire", Relation.REWRITE)
    assert out["other"] == ("sother", Relation.CANONICAL)


def test_shingle_sketch_tells_copies_from_rewrites() -> None:
    wire = shingle_sketch(text.tokens(WIRE_BODY))
    assert len(wire) == SKETCH_SIZE
    assert sketch_jaccard(wire, shingle_sketch(text.tokens(WIRE_BODY.upper()))) == 1.0  # case ignored
    trimmed = WIRE_BODY.rsplit("\n\n", 2)[0]
    assert sketch_jaccard(wire, shingle_sketch(text.tokens(trimmed))) > 0.6
    assert sketch_jaccard(wire, shingle_sketch(text.tokens(REWRITE_BODY))) < 0.1
    for other in (trimmed, REWRITE_BODY):  # the cheap bound never under-estimates
        sig = shingle_sketch(text.tokens(other))
        assert sketch_jaccard_at_most(set(wire), sig) >= sketch_jaccard(wire, sig)


def _sketch_one_by_one(words: list[str]) -> tuple[int, ...]:
    """The sketch spelled out in Python integers: each shingle's hash mixed from its words' xxh64 as
    `shingle_sketches` mixes them, its top 58 bits, the 64 smallest distinct ones."""
    mask, mix = (1 << 64) - 1, [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9]
    h = [xxhash.xxh64_intdigest(w.lower().encode()) for w in words]
    if len(h) >= 3:
        h = [(h[i] * mix[0] + h[i + 1] * mix[1] + h[i + 2] * mix[2]) & mask for i in range(len(h) - 2)]
    out = set()
    for x in h:
        x ^= x >> 31
        x = (x * mix[1]) & mask
        x ^= x >> 29
        out.add(x >> 6)
    return tuple(sorted(out)[:SKETCH_SIZE])


def test_batched_sketches_equal_each_text_sketched_alone() -> None:
    texts = [text.tokens(WIRE_BODY), [], ["Venn"], ["two", "Words"], text.tokens(REWRITE_BODY)]
    bodies = [body for _, body in UNRELATED.values()]
    texts += [text.tokens(f"{bodies[i % len(bodies)]} {i}") for i in range(70)]  # more than one sort holds
    assert shingle_sketches(texts) == [_sketch_one_by_one(t) for t in texts]
    assert shingle_sketch(texts[0]) == _sketch_one_by_one(texts[0])


def test_vector_is_the_heaviest_terms_at_unit_length() -> None:
    table = prepare_batch([_article("w", WIRE_TITLE, WIRE_BODY)])
    (f,) = features_batch(table, DocFreq(0, {}), 24, 128, 64)
    # With no document seen every IDF is equal: the heaviest terms are the most counted, equals in the
    # order the text first names them (`_counts` lists them in that order; `sorted` is stable).
    counts = _counts(table, 0)
    assert len(counts) > TOP_TERMS
    assert list(f.vector) == sorted(counts, key=lambda t: -counts[t][0])[:TOP_TERMS]
    assert math.isclose(math.fsum(v * v for v in f.vector.values()), 1.0)


def _counts(table: TermTable, article: int) -> dict[str, tuple[int, bool]]:
    rows = np.flatnonzero(table.article == article)
    counts = zip(table.count[rows].tolist(), table.lead[rows].tolist(), strict=True)
    return dict(zip(table.names(rows), counts, strict=True))


def test_names_weigh_more_than_common_words() -> None:
    body = "Marrow said the bridge is shut. The bridge shut, said marrow sellers. Venn"
    counts = _counts(count_terms([([], text.tokens(body))], LEAD_WORDS), 0)
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
    table = count_terms(docs, LEAD_WORDS)
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
    table = count_terms([([], [*pair, "ferry"]), ([], ["ferry", *pair])], LEAD_WORDS)
    assert [sorted(keys) for keys in table.df_keys()] == [sorted({slot, df_key("ferry")})] * 2
    counts = SlotCounts()
    counts.add(table)
    assert counts.docs == 2 and int(counts.slots.sum()) == 4  # two slots, each counted once per article


def test_slot_counts_read_as_a_store_read_the_same_keys() -> None:
    arts = [_article("w", WIRE_TITLE, WIRE_BODY), _article("r", REWRITE_TITLE, REWRITE_BODY)]
    counts, stored = SlotCounts(), Counter[str]()
    for a in [*arts, _article("c", *UNRELATED["chess"])]:
        table = prepare_batch([a])
        counts.add(table)
        stored.update(table.df_keys()[0])
    table = prepare_batch(arts)
    terms = np.unique(table.term)
    in_array = counts.of(table.vocabulary, terms)
    assert in_array.tolist() == DocFreq(3, stored).of(table.vocabulary, terms).tolist()
    assert in_array.max() == 2 and in_array.min() == 1  # shared by wire and rewrite; either's own
    assert features_batch(table, counts, 24, 128, 64) == features_batch(
        table, DocFreq(3, stored), 24, 128, 64
    )


def test_a_vocabulary_started_afresh_between_batches_changes_no_feature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arts = [_article("w", WIRE_TITLE, WIRE_BODY), _article("r", REWRITE_TITLE, REWRITE_BODY)]
    count_terms([(["Zebraquux"], [])], LEAD_WORDS)
    earlier = prepare_batch(arts)
    names = earlier.names()
    before = features_batch(earlier, DocFreq(3, {df_key("bridge"): 2}), 24, 128, 64)
    monkeypatch.setattr(current_vocabulary(), "limit", 1)  # full: the next batch starts a new one
    later = prepare_batch(arts)
    after = features_batch(later, DocFreq(3, {df_key("bridge"): 2}), 24, 128, 64)
    assert later.vocabulary is not earlier.vocabulary and "Zebraquux" not in later.vocabulary.ids
    assert after == before
    # A table counted before the fresh start still reads its own vocabulary.
    assert earlier.names() == names and "Zebraquux" in earlier.vocabulary.ids


def test_record_roundtrip() -> None:
    rec = Record("a1", "sa1", (1, 2, 3), (3, 1 << 40), 12.5)
    assert Record.loads(rec.dumps()) == rec


def test_bucket_cap_keeps_newest() -> None:
    index = MemoryIndex(bucket_cap=2)
    for i in range(3):
        index.add(Record(f"a{i}", f"s{i}", (), (7,), float(i)))
    assert sorted(c.record.article_id for c in index.query([7])) == ["a1", "a2"]  # a0 fell out


def test_memory_index_forgets_what_left_the_window() -> None:
    index = MemoryIndex(bucket_cap=8, window_s=10.0, prune_every=2)
    index.add(Record("old", "s-old", (), (7, 9), 0.0), {"bridge": 1.0})
    index.add(Record("new", "s-new", (), (7,), 100.0), {"ferry": 1.0})
    assert [c.record.article_id for c in index.query([7, 9])] == ["new"]
    assert set(index.records) == {"new"} and 9 not in index.buckets
    assert set(index.centroids) == {"s-new"}


def test_canonical_policy_order() -> None:
    def cand(aid: str, **kw: object) -> canonical.Candidate:
        base = dict(
            article_id=aid, feed_id="f", source="site", credits=(), from_page=True, length=100, time=5.0
        )
        base.update(kw)
        return canonical.Candidate(**base)  # type: ignore[arg-type]

    plain, longer, early = cand("a"), cand("b", length=300), cand("c", time=1.0)
    assert canonical.choose([plain, longer, early]) == "b"  # most complete text
    assert canonical.choose([plain, early]) == "c"  # then earliest
    credited = cand("d", credits=("Reuters",), length=50)
    wire = cand("e", credits=("Reuters",), source="Reuters", length=40)
    assert canonical.choose([longer, credited]) == "d"
    assert canonical.choose([longer, credited, wire]) == "e"
    assert canonical.choose([longer, wire, cand("z", feed_id="trusted")], ["trusted"]) == "z"
    assert canonical.choose([cand("s", from_page=False, length=999), plain]) == "a"


def test_bcubed_scores() -> None:
    truth = {"a": "1", "b": "1", "c": "2"}
    perfect = score({"a": "x", "b": "x", "c": "y"}, truth)
    assert perfect.bcubed_f1 == 1.0 and perfect.stories == 2
    lumped = score({"a": "x", "b": "x", "c": "x"}, truth)
    assert lumped.bcubed_recall == 1.0
    assert abs(lumped.bcubed_precision - (2 / 3 * 2 + 1 / 3) / 3) < 1e-9
    assert lumped.pairwise_precision == 1 / 3


def test_batched_minhashes_equal_datasketch_bulk() -> None:
    # The batch is hashed in one numpy expression; the signatures must stay datasketch's own.
    sets = [["canada", "hikvision", "order"], [], ["x"], [f"w{i}" for i in range(40)], ["canada", "order"]]
    ours = minhashes(sets, 128)
    encoded = [[t.encode() for t in s] or [b""] for s in sets]
    bulk = MinHash.bulk(encoded, num_perm=128, seed=1, hashfunc=_hash32)
    assert ours.shape == (5, 128)
    assert np.array_equal(ours, np.vstack([m.hashvalues.astype(np.uint64) for m in bulk]))


def test_expired_records_give_their_candidate_places_to_live_ones() -> None:
    index = MemoryIndex(bucket_cap=8, window_s=10.0, prune_every=1000)
    for i in range(3):  # sharing both bands, these rank first, but their window has closed
        index.add(Record(f"old{i}", f"s-old{i}", (), (7, 9), 0.0))
    for i in range(2):
        index.add(Record(f"new{i}", f"s-new{i}", (), (7,), 100.0))
    assert index.query([7, 9], limit=2) == [(index.records["new0"], 1), (index.records["new1"], 1)]
    index.prune(90.0)  # and a bucket that names only them goes
    assert set(index.buckets) == {7} and set(index.records) == {"new0", "new1"}


def test_a_young_stream_keeps_the_story_names_among_a_newcomers_keywords() -> None:
    # Two articles seen, both naming Norvale's Kestrel Bridge. A raw IDF would weigh those names below
    # every word the newcomer has alone, and the LSH search, which hashes the keywords, would miss the story.
    df: Counter[str] = Counter()
    for title, body in [(WIRE_TITLE, WIRE_BODY), (REWRITE_TITLE, REWRITE_BODY)]:
        df.update(prepare_batch([_article("seen", title, body)]).df_keys()[0])
    (f,) = features_batch(
        prepare_batch([_article("feature", FEATURE_TITLE, FEATURE_BODY)]), DocFreq(2, df), 24, 128, 64
    )
    assert {"norvale", "kestrel", "bridge"} <= set(f.keywords[:6])


def test_keywords_come_from_the_lead_not_from_teasers_at_the_end() -> None:
    # A portal page: the story, then other stories' headlines and first lines with no heading to cut at.
    teasers = "\n".join(f"{title}\n{body.split('. ')[0]}." for title, body in UNRELATED.values())
    df: Counter[str] = Counter()
    for title, body in [(WIRE_TITLE, WIRE_BODY), (FEATURE_TITLE, FEATURE_BODY)]:
        df.update(prepare_batch([_article("seen", title, body)]).df_keys()[0])
    portal = prepare_batch([_article("portal", REWRITE_TITLE, REWRITE_BODY + "\n" + teasers)])
    (f,) = features_batch(portal, DocFreq(2, df), 24, 128, 64)
    assert {"norvale", "kestrel", "bridge"} <= set(f.keywords[:5])
    assert not {"tarrow", "castell", "orlandia", "delacre"} & set(f.keywords)


def test_an_article_sharing_a_few_keywords_is_a_candidate() -> None:
    # Rewrites share few of their distinctive words. With the default bands an article sharing 3 of its 24
    # keywords (Jaccard 0.07) is found 99 times in 100 (2-row bands of 128 permutations: 1 in 4); one
    # sharing none never is.
    s = get_settings()
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
