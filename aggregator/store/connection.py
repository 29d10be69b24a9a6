"""Connections, the conversion of redis-py's errors, and the one Redis lock every lock here uses."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import redis
import redis.asyncio

from aggregator.errors import StorageError
from aggregator.store import scripts

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


# Replies are text, and a packed value's bytes that are not UTF-8 read as stand-in characters that
# `packing.raw` turns back into them (the store writes packed values as bytes).
DECODING: dict[str, Any] = {"decode_responses": True, "encoding_errors": "surrogateescape"}


def connect(url: str, cluster: bool = False, timeout_s: float | None = None) -> redis.Redis:
    """A client of the Redis at `url`; with `cluster`, of the Redis Cluster that `url` is a node of. The
    cluster client routes each command by its keys; every key of the service shares one hash tag there
    (`Keys.for_cluster`), so multi-key commands, transactions and scripts stay legal. A reply that
    takes over `timeout_s` is an error: a Redis that hangs must not hold its caller for ever (the API
    reads on its event loop)."""
    timeouts = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    # redis-py's cluster pipelines refuse some commands by name (mget, evalsha) though one slot makes
    # them legal: pipelines here queue MGET with execute_command, and scripts with EVAL (scripts.py).
    if cluster:
        client: Any = redis.RedisCluster.from_url(url, **DECODING, **timeouts, health_check_interval=30)
        return client  # type: ignore[no-any-return]
    return redis.Redis.from_url(url, **DECODING, **timeouts, health_check_interval=30)


def shared_async_client(url: str, cluster: bool, max_connections: int, socket_timeout: float) -> Any:
    """An asyncio client whose callers share at most `max_connections` connections (per node on a
    cluster) and wait for a free one rather than fail; closing it closes its connections."""
    if cluster:
        return redis.asyncio.RedisCluster.from_url(
            url, **DECODING, max_connections=max_connections, socket_timeout=socket_timeout
        )
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=None,
        **DECODING,
        socket_timeout=socket_timeout,
    )
    return redis.asyncio.Redis.from_pool(pool)


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
