"""What the LSH index holds per article, and an in-memory index.

The in-memory index serves `aggregator eval --memory` and the within-batch overlay of the clusterer;
`store/index.py` keeps the same records and buckets in Redis. Buckets keep only their newest
`bucket_cap` entries, so a query costs the same whether 10k or 10M articles were indexed.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    article_id: str
    story_id: str
    terms: Mapping[str, float]
    shingle_sig: tuple[int, ...]
    bands: tuple[str, ...]
    time: float

    def dumps(self) -> str:
        return json.dumps(
            {
                "a": self.article_id,
                "s": self.story_id,
                "t": self.terms,
                "h": self.shingle_sig,
                "b": self.bands,
                "at": self.time,
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> Record:
        d = json.loads(raw)
        return cls(d["a"], d["s"], d["t"], tuple(d["h"]), tuple(d["b"]), float(d["at"]))


class MemoryIndex:
    """LSH buckets and records in a dict; records older than `window_s` before the newest are ignored."""

    def __init__(self, bucket_cap: int, window_s: float | None = None) -> None:
        self.bucket_cap = bucket_cap
        self.window_s = window_s
        self.buckets: dict[str, deque[str]] = {}
        self.records: dict[str, Record] = {}
        self.newest = 0.0

    def query(self, bands: Iterable[str], limit: int | None = None) -> list[Record]:
        """Records sharing a bucket with `bands`, those sharing the most first (ties by id), as the
        Redis index ranks them."""
        hits: dict[str, int] = {}
        for band in bands:
            for aid in self.buckets.get(band, ()):
                hits[aid] = hits.get(aid, 0) + 1
        order = sorted(hits, key=lambda a: (-hits[a], a))[:limit]
        horizon = self.newest - self.window_s if self.window_s is not None else None
        found = (self.records.get(a) for a in order)
        return [r for r in found if r is not None and (horizon is None or r.time >= horizon)]

    def query_many(self, band_lists: Sequence[Sequence[str]], limit: int | None = None) -> list[list[Record]]:
        return [self.query(b, limit) for b in band_lists]

    def add(self, record: Record) -> None:
        self.records[record.article_id] = record
        self.newest = max(self.newest, record.time)
        for band in record.bands:
            bucket = self.buckets.get(band)
            if bucket is None:
                bucket = self.buckets[band] = deque(maxlen=self.bucket_cap)
            if record.article_id not in bucket:
                bucket.appendleft(record.article_id)
