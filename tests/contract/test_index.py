"""The `core.pipeline.Index` contract, run against both adapters: the in-memory index and the Redis one
(on a real redis-server). Each test drives an index through the protocol only: commit, candidates,
doc_freq, members, split."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from aggregator.core.fingerprint import prepare_batch
from aggregator.core.identity import article_id
from aggregator.core.models import (
    Article,
    Assignment,
    Decision,
    Features,
    MemberVector,
    Record,
    Relation,
    Split,
)
from aggregator.core.pipeline import Batch, Index
from aggregator.core.terms import Vocabulary, term_hash
from aggregator.devserver import EmbeddedRedis
from aggregator.settings import Settings, defaults
from aggregator.store.memory_index import MemoryIndex
from aggregator.wiring import Wiring

WINDOW_S = 1.0  # the Redis index's shortest lifetime (its TTLs count whole seconds)
ARCHIVE_S = 2.0
NOW = 0.0  # the stream's time a search asks at; the in-memory index takes its newest record's when later


class Harness:
    """An index under test, and how to let its story window pass."""

    index: Index

    def let_window_pass(self) -> None:
        raise NotImplementedError

    def let_archive_pass(self) -> None:
        raise NotImplementedError


class MemoryHarness(Harness):
    def __init__(self, settings: Settings) -> None:
        s = settings
        self.index = self.memory = MemoryIndex(s.bucket_cap, s.window_s, s.archive_s, s.archive_max_stories)

    def let_window_pass(self) -> None:
        # The in-memory index reads time from the stream: its newest record is "now".
        self.memory.newest += WINDOW_S + 1

    def let_archive_pass(self) -> None:
        self.memory.newest += ARCHIVE_S + 1


class RedisHarness(Harness):
    def __init__(self, settings: Settings) -> None:
        self.wiring = Wiring(settings.model_copy(update={"key_prefix": f"c{uuid.uuid4().hex[:8]}"}))
        self.index = self.wiring.index

    def let_window_pass(self) -> None:
        time.sleep(WINDOW_S + 0.1)  # the keys' TTLs run out

    def let_archive_pass(self) -> None:
        time.sleep(ARCHIVE_S + 0.1)


@pytest.fixture(params=["memory", "redis"])
def harness(request: pytest.FixtureRequest, redis_server: EmbeddedRedis) -> Iterator[Harness]:
    settings = defaults(
        redis_url=redis_server.url, bucket_cap=3, story_window_h=WINDOW_S / 3600,
        archive_horizon_h=ARCHIVE_S / 3600, archive_max_stories=3,
    )  # fmt: skip
    h: Harness = MemoryHarness(settings) if request.param == "memory" else RedisHarness(settings)
    yield h
    if isinstance(h, RedisHarness):
        h.wiring.close()


@dataclass(frozen=True)
class Item:
    aid: str
    story: str
    bands: tuple[int, ...]
    text: str = "words"
    vector: tuple[tuple[int, float], ...] = ((term_hash("w"), 1.0),)


def _t(weights: dict[str, float]) -> dict[int, float]:
    """Term weights as the core keys them: by their hashes."""
    return {term_hash(word): w for word, w in weights.items()}


def _k(*words: str) -> list[int]:
    return [term_hash(w) for w in words]


def _batch(items: Sequence[Item], t: float = 0.0, centroid: dict[str, float] | None = None) -> Batch:
    """A decided batch as the pipeline would hand it to `commit`; every story's centroid `centroid`."""
    articles = [
        Article(id=i.aid, url=f"http://x/{i.aid}", feed_id="f", title=i.aid, text=i.text, source="x",
                published=t, fetched=t)
        for i in items
    ]  # fmt: skip
    features = [Features(dict(i.vector), (), i.bands, (), 100) for i in items]
    assignments = []
    for i in items:
        founder = i.story == "s" + i.aid
        relation = Relation.CANONICAL if founder else Relation.REWRITE
        decision = Decision(i.story, relation, 1.0, None if founder else i.story[1:])
        record = Record(i.aid, i.story, (), i.bands, t)
        assignments.append(Assignment(decision, record, centroid or _t({"w": 1.0})))
    return Batch(articles, features, assignments, prepare_batch(articles, Vocabulary()))


def _probe(bands: Iterable[int] = (), keywords: Sequence[int] = ()) -> Features:
    """An article as a search sees it: its band keys and its keywords."""
    return Features({}, tuple(keywords), tuple(bands), (), 0)


def _found(h: Harness, bands: Sequence[int], limit: int = 10) -> list[tuple[str, int]]:
    (found,) = h.index.candidates([_probe(bands)], limit, NOW).found
    return [(c.record.article_id, c.shared) for c in found]


def test_candidates_rank_by_shared_bands_then_id(harness: Harness) -> None:
    harness.index.commit(_batch([Item("b", "sb", (1, 2)), Item("a", "sa", (1,)), Item("c", "sc", (1, 2, 3))]))
    assert _found(harness, [1, 2, 3]) == [("c", 3), ("b", 2), ("a", 1)]
    assert _found(harness, [1, 9]) == [("a", 1), ("b", 1), ("c", 1)]  # ties by id
    assert _found(harness, [1, 2, 3], limit=2) == [("c", 3), ("b", 2)]
    assert _found(harness, [9]) == []


def test_articles_named_as_the_service_names_them_tie_by_id(harness: Harness) -> None:
    ids = [article_id(f"https://news.example/story/{n}") for n in range(3)]  # the bucket cap: 3
    harness.index.commit(_batch([Item(aid, "s" + aid, (1,)) for aid in ids]))
    assert _found(harness, [1]) == [(aid, 1) for aid in sorted(ids)]


def test_a_bucket_keeps_its_newest_entries(harness: Harness) -> None:  # bucket_cap = 3
    for i in range(5):
        harness.index.commit(_batch([Item(f"a{i}", f"sa{i}", (7,))]))
    assert sorted(a for a, _ in _found(harness, [7])) == ["a2", "a3", "a4"]


def test_expired_records_give_their_places_to_live_ones(harness: Harness) -> None:
    # Ranked first (they share two bands, and ties go by id), but their window closes first.
    harness.index.commit(_batch([Item(f"a-old{i}", f"s-old{i}", (7, 9)) for i in range(3)]))
    harness.let_window_pass()
    new = [Item(f"new{i}", f"s-new{i}", (7,)) for i in range(2)]
    harness.index.commit(_batch(new, t=WINDOW_S + 1))
    lookup = harness.index.candidates([_probe([7, 9])], 2, NOW)
    assert [(c.record.article_id, c.shared) for c in lookup.found[0]] == [("new0", 1), ("new1", 1)]
    assert set(lookup.centroids) == {"s-new0", "s-new1"}


def test_a_story_s_latest_centroid_comes_with_its_candidates(harness: Harness) -> None:
    harness.index.commit(_batch([Item("a", "sa", (1,))], centroid=_t({"bridge": 1.0})))
    harness.index.commit(_batch([Item("b", "sa", (2,))], centroid=_t({"bridge": 1.5, "ferry": 0.5})))
    lookup = harness.index.candidates([_probe([1]), _probe([3])], 5, NOW)
    assert lookup.centroids == {"sa": _t({"bridge": 1.5, "ferry": 0.5})}
    assert [list(f) for f in lookup.found][1] == []


def test_a_story_of_one_article_has_its_vector_for_centroid(harness: Harness) -> None:
    vector = _t({"quay": 0.75, "pier": 0.5})
    harness.index.commit(_batch([Item("a", "sa", (1,), vector=tuple(vector.items()))], centroid=vector))
    lookup = harness.index.candidates([_probe([1])], 5, NOW)
    assert lookup.centroids == {"sa": vector} and list(lookup.centroids["sa"]) == _k("quay", "pier")
    # A story whose centroid is not its one article's vector (it took a closed story's terms) keeps it.
    harness.index.commit(
        _batch([Item("b", "sb", (2,), vector=tuple(vector.items()))], centroid=_t({"dock": 1.0}))
    )
    assert harness.index.candidates([_probe([2])], 5, NOW).centroids == {"sb": _t({"dock": 1.0})}


def test_document_frequencies_count_each_article_once_per_slot(harness: Harness) -> None:
    first = _batch([Item("a", "sa", (1,), "Bridge bridge ferry"), Item("b", "sb", (2,), "ferry dock")])
    harness.index.commit(first)
    probe = _batch([Item("c", "sc", (3,), "bridge ferry dock pier")])
    table = probe.table
    freq = harness.index.doc_freq(table)
    terms = np.array([table.vocabulary.term_ids[t] for t in ("bridge", "ferry", "dock", "pier")])
    assert freq.docs == 2
    assert freq.of(table.vocabulary, terms).tolist() == [1.0, 2.0, 1.0, 0.0]


def test_commit_counts_variants_and_members_come_in_join_order(harness: Harness) -> None:
    first = harness.index.commit(_batch([Item("a", "sa", (1,)), Item("b", "sb", (2,))]))
    assert dict(first) == {"sa": 1, "sb": 1}
    second = harness.index.commit(_batch([Item("c", "sa", (1,)), Item("d", "sa", (1,))]))
    assert dict(second) == {"sa": 3}
    members = harness.index.members(["sa", "sb", "snone"])
    assert [m.article_id for m in members["sa"]] == ["a", "c", "d"]
    assert [m.article_id for m in members["sb"]] == ["b"] and list(members["snone"]) == []
    assert members["sa"][0] == MemberVector("a", 0.0, 100, _t({"w": 1.0}))


def test_a_split_moves_records_centroids_and_members(harness: Harness) -> None:
    items = [Item(f"n{i}", "sn0", (i,), vector=tuple(_t({"north": 1.0}).items())) for i in range(3)]
    items += [Item(f"s{i}", "sn0", (3 + i,), vector=tuple(_t({"south": 1.0}).items())) for i in range(3)]
    harness.index.commit(_batch(items))
    members = harness.index.members(["sn0"])["sn0"]
    parts = {"sn0": list(members[:3]), "ss0": list(members[3:])}
    harness.index.split(Split("sn0", parts, {"sn0": _t({"north": 3.0}), "ss0": _t({"south": 3.0})}, {}))
    lookup = harness.index.candidates([_probe(range(6))], 10, NOW)
    assert {c.record.article_id: c.record.story_id for c in lookup.found[0]} == {
        **{f"n{i}": "sn0" for i in range(3)},
        **{f"s{i}": "ss0" for i in range(3)},
    }
    assert lookup.centroids == {"sn0": _t({"north": 3.0}), "ss0": _t({"south": 3.0})}
    after = harness.index.members(["sn0", "ss0"])
    assert [m.article_id for m in after["ss0"]] == ["s0", "s1", "s2"]
    assert [m.article_id for m in after["sn0"]] == ["n0", "n1", "n2"]
    # The next article of each part counts against its own story.
    assert dict(harness.index.commit(_batch([Item("s3", "ss0", (9,))]))) == {"ss0": 4}


def _archived(h: Harness, keywords: Sequence[str]) -> list[str]:
    lookup = h.index.candidates([_probe(keywords=_k(*keywords))], 10, NOW)
    assert set(lookup.summaries) == set(lookup.archived[0])
    return list(lookup.archived[0])


def test_stories_are_archived_and_found_by_their_key_terms(harness: Harness) -> None:
    bridge = _t({"kestrel": 3.0, "bridge": 2.0, "norvale": 1.5, "crack": 1.0, "ferry": 0.5})
    harness.index.commit(_batch([Item("a", "sa", (1,))], t=5.0, centroid=bridge))
    harness.index.commit(_batch([Item("b", "sb", (2,))], t=6.0, centroid=_t({"kestrel": 1.0, "chess": 2.0})))
    assert _archived(harness, ["norvale", "bridge", "kestrel"]) == ["sa"]  # sb shares one: too few
    found = harness.index.candidates([_probe(keywords=_k("kestrel", "chess", "norvale"))], 10, NOW)
    assert list(found.archived[0]) == ["sa", "sb"]  # two each: ties by id
    s = found.summaries["sa"]
    assert (s.story_id, s.latest, s.time, dict(s.terms)) == ("sa", "a", 5.0, bridge)
    assert _archived(harness, ["kestrel", "zebra"]) == []  # one key term shared is not enough


def test_a_story_s_summary_follows_its_latest_centroid(harness: Harness) -> None:
    harness.index.commit(_batch([Item("a", "sa", (1,))], centroid=_t({"kestrel": 2.0, "bridge": 1.0})))
    harness.index.commit(_batch([Item("b", "sa", (1,))], t=9.0, centroid=_t({"ferry": 3.0, "dock": 2.0})))
    found = harness.index.candidates([_probe(keywords=_k("ferry", "dock"))], 10, NOW)
    assert list(found.archived[0]) == ["sa"] and found.summaries["sa"].latest == "b"
    # Found by its earlier key terms too, until newer stories push it out: it is its latest summary.
    assert dict(
        harness.index.candidates([_probe(keywords=_k("kestrel", "bridge"))], 10, NOW).summaries["sa"].terms
    ) == _t({"ferry": 3.0, "dock": 2.0})


def test_the_archive_forgets_what_is_past_its_horizon(harness: Harness) -> None:
    harness.index.commit(_batch([Item("a", "sa", (1,))], centroid=_t({"kestrel": 2.0, "bridge": 1.0})))
    harness.let_archive_pass()
    harness.index.commit(
        _batch([Item("b", "sb", (2,))], t=ARCHIVE_S + 1, centroid=_t({"chess": 2.0, "rook": 1.0}))
    )
    assert _archived(harness, ["kestrel", "bridge"]) == []
    assert _archived(harness, ["chess", "rook"]) == ["sb"]


def test_the_archive_keeps_at_most_its_cap_the_newest(harness: Harness) -> None:  # archive_max = 3
    for i in range(5):
        harness.index.commit(
            _batch([Item(f"a{i}", f"s{i}", (i,))], t=float(i), centroid=_t({"kestrel": 1.0, "bridge": 1.0}))
        )
    assert sorted(_archived(harness, ["kestrel", "bridge"])) == ["s2", "s3", "s4"]
