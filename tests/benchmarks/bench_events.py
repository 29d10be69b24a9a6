"""Event stream figures: the API's memory with N idle SSE subscribers, and the events/s one subscriber
receives end to end while the others idle.

    python -m tests.benchmarks.bench_events --idle 500 --events 20000

Starts its own redis-server and `aggregator api` process on loopback ports.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

from aggregator.devserver import EmbeddedRedis, free_port
from aggregator.store.events import EventLog, NewEvent
from aggregator.store.keys import Keys
from tests.benchmarks.memory import tree_rss_mib


async def idle(client: httpx.AsyncClient, url: str, ready: asyncio.Event, opened: list[int]) -> None:
    async with client.stream("GET", url) as resp:
        async for _ in resp.aiter_lines():
            opened[0] += 1
            break
        await ready.wait()


async def run(base: str, pid: int, idle_n: int, events: int, client_redis: redis.Redis) -> None:
    limits = httpx.Limits(max_connections=idle_n + 10)
    async with httpx.AsyncClient(timeout=None, limits=limits) as client:
        before = tree_rss_mib(pid)
        done, opened = asyncio.Event(), [0]
        tasks = [asyncio.create_task(idle(client, f"{base}/v1/events", done, opened)) for _ in range(idle_n)]
        while opened[0] < idle_n:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        after = tree_rss_mib(pid)
        print(f"API RSS {before:.0f} MiB with no subscriber, {after:.0f} MiB with {idle_n} idle ones "
              f"({(after - before) * 1024 / idle_n:.0f} KiB each)")  # fmt: skip

        log = EventLog(client_redis, Keys("agg"), 1_000_000, 7 * 86400)
        received = 0
        started = 0.0

        async def reader() -> None:
            nonlocal received
            async with client.stream("GET", f"{base}/v1/events") as resp:
                async for line in resp.aiter_lines():
                    if line.startswith("id:"):
                        received += 1
                        if received == events:
                            return

        read_task = asyncio.create_task(reader())
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        data = {
            "canonical": {"id": "a1", "title": "t", "url": "http://x/", "source": "x"},
            "variant_count": 1,
        }
        for i in range(0, events, 200):
            pipe = client_redis.pipeline(transaction=False)
            now = time.time()
            log.append(
                pipe, [NewEvent("story.created", f"s{j}", now, "f1", 1, data) for j in range(i, i + 200)], now
            )
            await asyncio.to_thread(pipe.execute)
        written = time.perf_counter() - started
        await asyncio.wait_for(read_task, 120)
        elapsed = time.perf_counter() - started
        print(f"{events} events written in {written:.2f} s; one subscriber received all of them in "
              f"{elapsed:.2f} s: {events / elapsed:.0f} events/s, with {idle_n} idle subscribers connected; "
              f"API RSS {tree_rss_mib(pid):.0f} MiB")  # fmt: skip
        done.set()
        for t in tasks:
            t.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        port = free_port()
        env = {**os.environ, "AGGREGATOR_REDIS_URL": server.url, "AGGREGATOR_PORT": str(port),
               "AGGREGATOR_FEEDS_FILE": "/dev/null"}  # fmt: skip
        api = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "api"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            client = redis.Redis.from_url(server.url, decode_responses=True)
            asyncio.run(run(base, api.pid, args.idle, args.events, client))
        finally:
            api.terminate()
            api.wait(10)
            server.stop()


if __name__ == "__main__":
    main()
