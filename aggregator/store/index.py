"""The clustering index in Redis: LSH buckets, article records, document frequencies, the lock.

Round trips per batch, not per article: one pipeline reads every bucket of the batch, one reads the
records they name, one writes the batch back. Assignment holds a lock so two workers can never both
start a story for two copies of one article.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import redis

from aggregator.core.fingerprint import DocFreq
from aggregator.core.index import Record
from aggregator.errors import StorageError
from aggregator.store.keys import LOCK_TTL_MS, Keys
from aggregator.store.redis import converts_errors

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisIndex:
    def __init__(self, client: redis.Redis, keys: Keys, bucket_cap: int, window_s: float) -> None:
        # redis-py's stubs type replies as unions of bytes/str/awaitables; with decode_responses=True
        # they are str, so the client is used untyped here rather than cast at every call.
        self.r: Any = client
        self.keys = keys
        self.bucket_cap = bucket_cap
        self.ttl_s = max(1, int(window_s))
        self._release = client.register_script(_RELEASE)

    @contextlib.contextmanager
    def lock(self, wait_s: float = 60.0) -> Iterator[None]:
        """Serialise story assignment across every worker. A crashed holder frees it after LOCK_TTL_MS."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait_s
        try:
            while not self.r.set(self.keys.assign_lock, token, nx=True, px=LOCK_TTL_MS):
                if time.monotonic() > deadline:
                    raise StorageError("timed out waiting for the assignment lock")
                time.sleep(0.005)
            yield
        except redis.RedisError as exc:
            raise StorageError(f"redis: {exc}") from exc
        finally:
            with contextlib.suppress(redis.RedisError):
                self._release(keys=[self.keys.assign_lock], args=[token])

    @converts_errors
    def doc_freq(self, terms: Iterable[str]) -> DocFreq:
        wanted = sorted(set(terms))
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.keys.doc_count)
        if wanted:
            pipe.hmget(self.keys.doc_freq, wanted)
        res = pipe.execute()
        counts = res[1] if wanted else []
        df = {t: int(c) for t, c in zip(wanted, counts, strict=True) if c}
        return DocFreq(int(res[0] or 0), df)

    @converts_errors
    def candidates(self, band_lists: Sequence[Sequence[str]]) -> list[list[Record]]:
        pipe = self.r.pipeline(transaction=False)
        for bands in band_lists:
            for band in bands:
                pipe.lrange(self.keys.bucket(band), 0, -1)
        flat = pipe.execute()
        per_article: list[list[str]] = []
        pos = 0
        for bands in band_lists:
            ids: dict[str, None] = {}
            for members in flat[pos : pos + len(bands)]:
                ids.update(dict.fromkeys(members))
            pos += len(bands)
            per_article.append(list(ids))
        wanted = sorted({a for ids in per_article for a in ids})
        raw = self.r.mget([self.keys.record(a) for a in wanted]) if wanted else []
        # A missing record expired with its story's window: that story no longer takes variants.
        records = {a: Record.loads(v) for a, v in zip(wanted, raw, strict=True) if v}
        return [[records[a] for a in ids if a in records] for ids in per_article]

    def write(
        self, pipe: redis.client.Pipeline, records: Sequence[Record], doc_terms: Sequence[Iterable[str]]
    ) -> None:
        """Queue the index writes of a batch on `pipe` (the caller's, so the batch commits in one trip).

        `doc_terms` holds the terms of each article indexed for the first time: only they count in the IDF.
        """
        for rec in records:
            pipe.set(self.keys.record(rec.article_id), rec.dumps(), ex=self.ttl_s)
            for band in rec.bands:
                key = self.keys.bucket(band)
                pipe.lrem(key, 0, rec.article_id)
                pipe.lpush(key, rec.article_id)
                pipe.ltrim(key, 0, self.bucket_cap - 1)
                pipe.expire(key, self.ttl_s)
        for terms in doc_terms:
            for term in terms:
                pipe.hincrby(self.keys.doc_freq, term, 1)
        if doc_terms:
            pipe.incrby(self.keys.doc_count, len(doc_terms))
