"""The Lua scripts of `store/lua/`, one file each: read once, registered on a client by name.

A registered script is sent by its SHA1 and loaded into Redis again by redis-py if Redis lost it (a
restart), so callers never handle NOSCRIPT. A Redis Cluster pipeline takes no EVALSHA (redis-py cannot
load a missing script inside one): queued there, a script is sent whole with EVAL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import redis
from redis.cluster import ClusterPipeline

NAMES = (
    "index_write", "index_candidates", "archive_write", "archive_candidates", "feeds_claim",
    "host_acquire", "host_turn", "host_adjust", "subscription_resume", "lock_release", "story_read",
    "stories_listing", "story_rows", "text_heads",
)  # fmt: skip


@functools.cache
def source(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"no Lua script {name!r}; known: {NAMES}")
    return files("aggregator.store").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


class Script:
    def __init__(self, client: redis.Redis, name: str) -> None:
        self.text = source(name)
        self.registered = client.register_script(self.text)

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = (), client: Any = None) -> Any:
        if isinstance(client, ClusterPipeline):
            return client.execute_command("EVAL", self.text, len(keys), *keys, *args)
        return self.registered(keys=keys, args=args, client=client)


def register(client: redis.Redis, name: str) -> Script:
    """The script `name` bound to `client`: call it with `keys=`, `args=` and optionally `client=` (a
    pipeline, to queue it there)."""
    return Script(client, name)
