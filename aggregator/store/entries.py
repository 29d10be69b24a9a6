"""The clustering index's entries as Redis keeps them: a few words, then packed bytes (`packing`).

- An article's entry (`Keys.record`, named by `packing.ref`): "article story time length matched copy
  sketch-size " then its shingle sketch and its vector's terms. It is the article's record for the
  candidate search (`lua/index_candidates.lua` reads its first two words), its member vector for the
  split check, and the centroid of a story of one article. Its band keys are not kept: the buckets
  hold them, and nothing reads them back.
- A centroid: its terms alone.
- A summary (`Keys.summary`, named by its story's `packing.ref`): "story latest time " then its
  terms.

Entries once stored as JSON still read: records ("{"), member vectors ("["), centroids and summaries.
"""

from __future__ import annotations

import json

from aggregator.core.models import Centroid, MemberVector, Record, Summary
from aggregator.store import packing

# What the candidate search returns with a story's centroid: which of the two it is.
CENTROID, MEMBER = "c", "m"


def dump_entry(r: Record, m: MemberVector) -> bytes:
    words = (
        r.article_id,
        r.story_id,
        repr(r.time),
        m.length,
        m.matched or "",
        int(m.copy),
        len(r.shingle_sig),
    )
    head = " ".join(map(str, words)) + " "
    return head.encode() + packing.pack_sketch(r.shingle_sig) + packing.pack_terms(m.vector)


def _split(data: bytes) -> list[bytes]:
    """[article, story, time, length, matched, copy, sketch, terms] of an entry."""
    *words, rest = data.split(b" ", 7)
    size = 4 * int(words[6])
    return [*words[:6], rest[:size], rest[size:]]


def is_entry(value: str | bytes) -> bool:
    """Whether the value is an entry as written now, not a record once stored as JSON."""
    return not packing.raw(value).startswith(b"{")


def load_record(value: str | bytes) -> Record:
    data = packing.raw(value)
    if data.startswith(b"{"):
        d = json.loads(data)
        sketch = packing.unpack_sketch(d["h"], old=True) if isinstance(d["h"], str) else tuple(d["h"])
        return Record(d["a"], d["s"], sketch, (), float(d["at"]))
    aid, sid, at, *_, packed, _terms = _split(data)
    return Record(aid.decode(), sid.decode(), packing.unpack_sketch(packed), (), float(at))


def load_member(article_id: str, value: str | bytes) -> MemberVector:
    """The member an entry holds, or a member vector once stored apart (as JSON) for `article_id`."""
    data = packing.raw(value)
    if data.startswith(b"["):
        return _load_json_member(article_id, data)
    aid, _sid, at, length, matched, copy, _sketch, terms = _split(data)
    vector = packing.unpack_terms(terms)
    return MemberVector(aid.decode(), float(at), int(length), vector, matched.decode() or None, copy == b"1")


def _load_json_member(article_id: str, data: bytes) -> MemberVector:
    t, n, *rest = json.loads(data)
    # A vector stored before vectors were packed is one JSON object, and one stored before members
    # had links has none (it reads as unlinked).
    if rest and isinstance(rest[0], dict):
        vector, links = packing.unpack_terms(rest[0]), rest[1:]
    else:
        vector, links = packing.unpack_terms(rest[:2]), rest[2:]
    matched, copy = links if links else (None, False)
    return MemberVector(article_id, float(t), int(n), vector, matched, bool(copy))


def dump_centroid(c: Centroid) -> bytes:
    return packing.pack_terms(c)


def load_centroid(kind: str, value: str | bytes) -> dict[int, float]:
    """A centroid (CENTROID), or the entry of the one article of a story that keeps none (MEMBER)."""
    if kind == MEMBER:
        return dict(load_member("", value).vector)
    data = packing.raw(value)
    return packing.unpack_terms(json.loads(data) if data.startswith((b"[", b"{")) else data)


def dump_summary(s: Summary) -> bytes:
    return f"{s.story_id} {s.latest} {s.time!r} ".encode() + packing.pack_terms(s.terms)


def load_summary(listed: str, value: str | bytes) -> Summary:
    """`listed`: the name the archive found it by, a story's ref (or its id, as summaries once were
    kept: their JSON did not name the story)."""
    data = packing.raw(value)
    if data.startswith(b"{"):
        d = json.loads(data)
        return Summary(listed, packing.unpack_terms(d["t"]), d["a"], float(d["at"]))
    sid, latest, at, terms = data.split(b" ", 3)
    return Summary(sid.decode(), packing.unpack_terms(terms), latest.decode(), float(at))
