"""The store's packed values read back exactly as written, and values stored before packing still read."""

from __future__ import annotations

import base64
import json
import struct
import zlib

from hypothesis import given
from hypothesis import strategies as st

from aggregator.core.models import MemberVector, Record, Summary
from aggregator.core.terms import term_hash
from aggregator.store import entries, packing
from aggregator.store.lru import LruCache

weights = st.dictionaries(st.integers(0, 2**32 - 1), st.floats(allow_nan=False), max_size=80)


def through_redis(value: str | bytes) -> str:
    """A value written as the store writes it, read back as its clients decode replies."""
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")


@given(weights)
def test_term_weights_round_trip_exactly(w: dict[int, float]) -> None:
    back = packing.unpack_terms(through_redis(packing.pack_terms(w)))
    assert back == w and list(back) == list(w)  # the order is the ranking: kept


@given(st.lists(st.integers(0, 2**32 - 1), max_size=64))
def test_sketches_round_trip(sketch: list[int]) -> None:
    assert packing.unpack_sketch(through_redis(packing.pack_sketch(sketch))) == tuple(sketch)


@given(st.text())
def test_texts_round_trip(text: str) -> None:
    assert packing.unpack_text(through_redis(packing.pack_text(text))) == text


def test_a_long_text_is_packed_smaller_and_a_short_one_kept() -> None:
    long = " ".join(f"word{n % 500}" for n in range(2000))
    packed = packing.pack_text(long)
    assert packed.startswith(packing.TEXT_MARK) and len(packed) < len(long) / 2
    assert packing.pack_text("A short text.") == "A short text."
    # A text that starts as texts were once packed is packed, so it cannot be taken for one.
    assert packing.pack_text("z:AAAA") != "z:AAAA"
    assert packing.unpack_text(through_redis(packing.pack_text("z:AAAA"))) == "z:AAAA"


def test_texts_stored_before_packing_or_packed_as_base64_read_as_they_were() -> None:
    assert packing.unpack_text("z: the old text that starts so") == "z: the old text that starts so"
    text = "Été " * 500
    old = "z:" + base64.b64encode(zlib.compress(text.encode())).decode()
    assert packing.unpack_text(old) == text
    assert packing.unpack_head(old[:1000], 600) == text[:400]  # 100 times its 6 bytes
    assert packing.unpack_text(None) == ""
    assert packing.unpack_head("Plain old text", 600) == "Plain old text"


def test_the_head_of_a_packed_text_is_its_start() -> None:
    text = "Été " * 5000
    packed = through_redis(packing.pack_text(text))
    for cut in (3, 50, 101, 400, len(packed)):
        head = packing.unpack_head(packed[:cut], 10**6)
        assert text.startswith(head)
    assert packing.unpack_head(packed, 10**6) == text
    assert packing.unpack_head(packed, 601) == text[:400]  # 100 times 6 bytes; a cut "É" is left out


members = st.builds(
    MemberVector,
    st.just("a1"),
    st.floats(0, 2e9),
    st.integers(0, 10**6),
    weights,
    st.one_of(st.none(), st.just("a0123456789abcdef")),
    st.booleans(),
)


@given(members, st.lists(st.integers(0, 2**32 - 1), max_size=64))
def test_an_entry_holds_its_record_and_member(m: MemberVector, sketch: list[int]) -> None:
    r = Record("a1", "s1", tuple(sketch), (5, 6), m.time)
    stored = through_redis(entries.dump_entry(r, m))
    assert entries.load_record(stored) == Record("a1", "s1", tuple(sketch), (), m.time)
    assert entries.load_member("a1", stored) == m and entries.is_entry(stored)
    assert entries.load_centroid(entries.MEMBER, stored) == m.vector


def test_index_entries_read_back_and_old_entries_still_read() -> None:
    old = json.dumps({"a": "a1", "s": "s1", "h": [1, 2], "b": [5], "at": 3})
    assert entries.load_record(old) == Record("a1", "s1", (1, 2), (), 3.0) and not entries.is_entry(old)
    old = json.dumps(
        {"a": "a1", "s": "s1", "h": base64.b64encode(packing.pack_sketch([1, 2])).decode(), "at": 3}
    )
    assert entries.load_record(old) == Record("a1", "s1", (1, 2), (), 3.0)
    # Terms go by their hashes; an entry stored with words reads as the same terms.
    quake, city = term_hash("quake"), term_hash("city")
    s = Summary("s1", {quake: 0.5, city: 0.25}, "a9", 4.0)
    assert entries.load_summary("the ref", through_redis(entries.dump_summary(s))) == s  # it names its story
    old = json.dumps({"t": {"quake": 0.5}, "a": "a9", "at": 4})
    assert entries.load_summary("s1", old).terms == {quake: 0.5}
    c = {quake: 1.25, city: 0.1}
    centroid = entries.CENTROID
    assert entries.load_centroid(centroid, through_redis(entries.dump_centroid(c))) == c
    assert entries.load_centroid(centroid, json.dumps({"quake": 1.25, "city": 0.1})) == c
    old = json.dumps([base64.b64encode(x).decode() for x in _old_terms(c)])
    assert entries.load_centroid(centroid, old) == c
    # Member vectors were once kept apart, as JSON, and stood in for a centroid as such.
    m = MemberVector("a2", 7.0, 120, {quake: 0.75}, "a1", True)
    assert entries.load_member("a2", json.dumps([7, 120, {"quake": 0.75}, "a1", True])) == m
    assert entries.load_member("a2", json.dumps([7, 120, {"quake": 0.75}])) == MemberVector(
        "a2", 7.0, 120, {quake: 0.75}
    )
    assert entries.load_centroid(entries.MEMBER, json.dumps([7, 120, {"quake": 0.75}])) == {quake: 0.75}


def test_weights_pack_in_the_fewest_bytes_that_hold_them_exactly() -> None:
    half = {1: 0.5, 2: 0.25, 3: 0.125}
    single = {1: struct.unpack("<f", struct.pack("<f", 0.1))[0], 2: 0.25, 3: 70000.0}  # past float16
    double = {1: 0.1, 2: 0.25, 3: 0.125}
    sizes = [len(packing.pack_terms(w)) - 1 for w in (half, single, double)]
    assert sizes == [3 * (4 + 2), 3 * (4 + 4), 3 * (4 + 8)]
    for w in (half, single, double, {7: 1e300}, {8: 1e-300}):
        assert packing.unpack_terms(packing.pack_terms(w)) == w


@given(st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=20))
def test_refs_are_short_and_sort_as_the_ids_do(numbers: list[int]) -> None:
    ids = [f"a{n:016x}" for n in numbers]
    refs = [packing.ref(i) for i in ids]
    assert all(len(r) == 8 for r in refs) and " " not in "".join(refs)
    assert sorted(refs) == [packing.ref(i) for i in sorted(ids)]
    # A ref is an id's first 48 bits (of 64): ids that differ there have different refs.
    assert len(set(refs)) == len({n >> 16 for n in numbers})


def test_a_story_goes_by_its_first_article_s_ref_and_ids_of_other_forms_are_their_own() -> None:
    assert packing.ref("sa0123456789abcdef") == packing.ref("a0123456789abcdef")
    for other in ("wire", "a123", "A0123456789abcdef", "a0123456789abcdeg", "ecb-1-2", "s0123456789abcdef0"):
        assert packing.ref(other) == other


def _old_terms(c: dict[int, float]) -> tuple[bytes, bytes]:
    """A centroid's terms and float64 weights, as entries once held them in base64."""
    return struct.pack(f"<{len(c)}I", *c), struct.pack(f"<{len(c)}d", *c.values())


def test_a_cache_keeps_the_most_recently_used() -> None:
    # Keyed as the story list keys snippets: canonical id, headline, revision, length in words.
    kept: LruCache[str] = LruCache(2)
    kept.put(("a1", "Title", "0", "120"), "one")
    kept.put(("a2", "Title", "0", "120"), "two")
    assert kept.get(("a1", "Title", "0", "120")) == "one"  # now the most recently used
    kept.put(("a3", "Title", "0", "120"), "three")
    assert kept.get(("a2", "Title", "0", "120")) is None
    assert kept.get(("a1", "Title", "0", "120")) == "one" and kept.get(("a3", "Title", "0", "120")) == "three"
    assert kept.get(("a1", "Title", "1", "126")) is None  # a new revision is another text
    kept.put(("a1", "Title", "0", "120"), "one again")  # put again: the most recently used
    kept.put(("a4", "Title", "0", "120"), "four")
    assert (
        kept.get(("a3", "Title", "0", "120")) is None and kept.get(("a1", "Title", "0", "120")) == "one again"
    )
