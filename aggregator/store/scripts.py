"""The Lua scripts of `store/lua/`, one file each: read once, registered on a client by name.

A registered script is sent by its SHA1 and loaded into Redis again by redis-py if Redis lost it (a
restart), so callers never handle NOSCRIPT.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Any

import redis

NAMES = (
    "index_write", "index_candidates", "archive_write", "archive_candidates", "feeds_claim",
    "host_acquire", "host_turn", "host_adjust", "subscription_resume", "lock_release", "story_read",
    "stories_page",
)  # fmt: skip


@functools.cache
def source(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"no Lua script {name!r}; known: {NAMES}")
    return files("aggregator.store").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def register(client: redis.Redis, name: str) -> Any:
    """The script `name` bound to `client`: call it with `keys=`, `args=` and optionally `client=` (a
    pipeline, to queue it there)."""
    return client.register_script(source(name))
