from __future__ import annotations

from collections import Counter

from aggregator.core import canonical
from aggregator.core.clustering import Clusterer, Thresholds
from aggregator.core.fingerprint import DocFreq, features_batch, prepare
from aggregator.core.index import MemoryIndex, Record
from aggregator.core.models import Article, Relation
from aggregator.core.scoring import score
from tests.fixtures.stories import UNRELATED, WIRE_BODY, WIRE_TITLE


def _article(aid: str, title: str, body: str, t: float = 0.0) -> Article:
    return Article(id=aid, url=f"http://x/{aid}", feed_id="f", title=title, text=body, source="x",
                   published=t, fetched=t)  # fmt: skip


def _run(articles: list[Article]) -> dict[str, tuple[str, Relation]]:
    clusterer = Clusterer(Thresholds(), bucket_cap=64)
    index = MemoryIndex(64)
    df: Counter[str] = Counter()
    out = {}
    for i, a in enumerate(articles):  # one at a time, so earlier ones are in the IDF
        p = prepare(a)
        freq = DocFreq(i, df)
        (f,) = features_batch([p], freq, 24, 128, 64)
        ((d, rec),) = clusterer.assign([a.id], [f], [a.fetched], [index.query(f.bands)], freq)
        index.add(rec)
        df.update(p.counts.keys())
        out[a.id] = (d.story_id, d.relation)
    return out


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


def test_record_roundtrip() -> None:
    rec = Record("a1", "sa1", {"bridge": 2.0}, (1, 2, 3), ("0:ab",), 12.5)
    assert Record.loads(rec.dumps()) == rec


def test_bucket_cap_keeps_newest() -> None:
    index = MemoryIndex(bucket_cap=2)
    for i in range(3):
        index.add(Record(f"a{i}", f"s{i}", {}, (), ("0:x",), float(i)))
    assert sorted(r.article_id for r in index.query(["0:x"])) == ["a1", "a2"]  # a0 fell out


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
