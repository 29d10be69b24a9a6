"""Connections, the conversion of redis-py's errors, and the one Redis lock every lock here uses."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import redis

from aggregator.errors import StorageError
from aggregator.store import scripts

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


def converts_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn redis-py's exceptions into StorageError at the store boundary."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise StorageError(f"redis: {exc}") from exc

    return wrapper


@contextlib.contextmanager
def held_lock(client: redis.Redis, key: str, ttl_ms: int, wait_s: float) -> Iterator[bool]:
    """A Redis lock (SET NX PX with a token); yields whether it was taken within `wait_s`.

    A crashed holder frees it after `ttl_ms`; release deletes it only if this holder still owns it.
    """
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    try:
        held = bool(client.set(key, token, nx=True, px=ttl_ms))
        while not held and time.monotonic() < deadline:
            time.sleep(0.005)
            held = bool(client.set(key, token, nx=True, px=ttl_ms))
        yield held
    except redis.RedisError as exc:
        raise StorageError(f"redis: {exc}") from exc
    finally:
        try:
            scripts.register(client, "lock_release")(keys=[key], args=[token])
        except redis.RedisError as exc:  # the lease frees it after ttl_ms
            log.warning("could not release lock %s (it frees itself in %d ms): %s", key, ttl_ms, exc)
