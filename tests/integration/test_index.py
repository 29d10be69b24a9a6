"""The Redis LSH index: what a candidate search returns once records have expired."""

from __future__ import annotations

import time

import redis

from aggregator.core.index import Record
from aggregator.store.index import RedisIndex
from aggregator.store.keys import Keys


def test_expired_records_give_their_candidate_places_to_live_ones(redis_client: redis.Redis) -> None:
    index = RedisIndex(redis_client, Keys("t"), bucket_cap=8, window_s=2.0)

    def write(records: list[Record]) -> None:
        pipe = redis_client.pipeline()
        index.write(pipe, records, {r.story_id: {"w": 1.0} for r in records}, [])
        pipe.execute()

    # Ranked first (ties go by id), but their window closes first.
    write([Record(f"a-old{i}", f"s-old{i}", (), (7,), 0.0) for i in range(3)])
    time.sleep(1.0)
    write([Record(f"new{i}", f"s-new{i}", (), (7,), 1.0) for i in range(2)])  # the bucket lives on
    time.sleep(1.3)  # the old records expire (window 2 s) while the bucket still names them first
    assert redis_client.llen(Keys("t").bucket(7)) == 5 and not redis_client.exists(Keys("t").record("a-old0"))
    found, centroids = index.candidates([[7]], limit=2)
    assert sorted((c.record.article_id, c.shared) for c in found[0]) == [("new0", 1), ("new1", 1)]
    assert set(centroids) == {"s-new0", "s-new1"}
