"""Read load on the API alone: paced requests for `GET /v1/stories/{id}` and `GET /v1/stories`.

    python -m tests.benchmarks.bench_api --stories 2000 --rps 1000 --seconds 20 [--path list] [--writes 20]

Starts its own redis-server and `aggregator api` (with its default worker processes) on loopback, fills
the store with made-up stories of 1 to 30 variants through the clustering use case, then sends requests
at a fixed rate (open loop: each request is due at its own time, and its latency counts from then, so a
slow server cannot slow the load down), over keep-alive connections, from this process. Prints the rate
served, p50/p99/max latency, errors, and the CPU the API's processes and this generator used. With
`--writes N`, another process clusters N articles a second meanwhile, half of them copies that move an
existing story to the top of the list, half new stories: what the API keeps of the list goes stale.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from aggregator.core.models import Article
from aggregator.devserver import embedded, free_port
from aggregator.settings import defaults
from aggregator.wiring import Wiring

WORDS = [
    "harbour",
    "ferry",
    "council",
    "budget",
    "storm",
    "flood",
    "election",
    "court",
    "minister",
    "strike",
    "rail",
    "bridge",
    "museum",
    "festival",
    "market",
    "bank",
    "rates",
    "school",
    "hospital",
    "police",
    "fire",
    "river",
    "airport",
    "mayor",
    "tariff",
]


def _stories(n: int, rng: random.Random) -> list[Article]:
    """Made-up articles: n stories, each with words of its own and a few copies (a copy repeats its
    story's text)."""
    out = []
    for s in range(n):
        own = [
            "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4)) for _ in range(12)
        ]
        name = f"{own[0].title()} {own[1].title()}"
        body = (
            " ".join(rng.choice(own) if i % 5 else rng.choice(WORDS) for i in range(150)) + f" {name} said."
        )
        for v in range(rng.choice((1, 1, 2, 3, 5, 10, 30))):
            out.append(
                Article(id=f"a{s}-{v}", url=f"http://o{v}.example/{s}", feed_id=f"f{v}",
                        title=f"{name} news {v}", text=body, source=f"Outlet {v}", published=1.75e9 + s,
                        fetched=1.75e9 + s)
            )  # fmt: skip
    return out


def _write(url: str, per_second: int, seconds: float, stories: int) -> None:
    """Clusters `per_second` articles a second for `seconds`: copies of the stories made before, and
    new stories."""
    rng = random.Random(2)
    wiring = Wiring(defaults(redis_url=url))
    old = _stories(stories, random.Random(1))
    new = iter(_stories(int(per_second * seconds), rng))
    start = time.perf_counter()
    for second in range(int(seconds)):
        batch = []
        for i in range(per_second):
            if i % 2:
                batch.append(next(new))
            else:
                a = rng.choice(old)
                batch.append(replace(a, id=f"w{second}-{i}", url=f"http://copy{i}.example/{second}",
                                     feed_id="fcopy", source=f"Copier {i}"))  # fmt: skip
        wiring.ingest.cluster(batch)
        time.sleep(max(0.0, start + second + 1 - time.perf_counter()))
    wiring.close()


async def _connection(port: int, queue: asyncio.Queue[tuple[float, str] | None], results: list[float],
                      errors: list[int]) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while (job := await queue.get()) is not None:
        due, path = job
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        results.append(time.perf_counter() - due)
        if not head.startswith(b"HTTP/1.1 200"):
            errors[0] += 1
    writer.close()


async def _load(
    port: int, paths: list[str], rps: float, seconds: float, conns: int
) -> tuple[list[float], int]:
    queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
    results: list[float] = []
    errors = [0]
    workers = [asyncio.create_task(_connection(port, queue, results, errors)) for _ in range(conns)]
    start = time.perf_counter()
    for i in range(int(rps * seconds)):
        due = start + i / rps
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, random.choice(paths)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return results, errors[0]


def _cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _tree(pid: int) -> list[int]:
    out = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        out += _tree(int(child))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--rps", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--path", choices=("story", "list", "health"), default="story")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--writes", type=int, default=0, help="articles clustered a second during the load")
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp)) as server:
        settings = defaults(redis_url=server.url)
        wiring = Wiring(settings)
        articles = _stories(args.stories, rng)
        for i in range(0, len(articles), 50):
            wiring.ingest.cluster(articles[i : i + 50])
        sids = list(set(wiring.views.story_ids([a.id for a in articles]).values()))
        wiring.close()
        port = free_port()
        env = {**os.environ, "AGGREGATOR_REDIS_URL": server.url, "AGGREGATOR_PORT": str(port)}
        api = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "api"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    import httpx

                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            time.sleep(1.0)  # every worker process up
            paths = {
                "story": [f"/v1/stories/{s}" for s in sids],
                "list": ["/v1/stories"],
                "health": ["/healthz"],
            }[args.path]
            pids, store = _tree(api.pid), [server.proc.pid] if server.proc else []
            # The generator's own collections would pause it and count as the API's latency.
            gc.collect()
            gc.freeze()
            cpu0, own0, wall0 = _cpu_s(pids), time.process_time(), time.perf_counter()
            redis0 = _cpu_s(store)
            writer = multiprocessing.get_context("spawn").Process(
                target=_write, args=(server.url, args.writes, args.seconds, args.stories)
            )
            if args.writes:
                writer.start()
            lat, errors = asyncio.run(_load(port, paths, args.rps, args.seconds, args.connections))
            wall = time.perf_counter() - wall0
            cpu, own, rcpu = _cpu_s(pids) - cpu0, time.process_time() - own0, _cpu_s(store) - redis0
            if args.writes:
                writer.join(60)
        finally:
            api.terminate()
            api.wait(20)
    lat.sort()
    print(
        f"{len(lat)} requests in {wall:.1f} s ({len(lat) / wall:.0f}/s asked {args.rps:.0f}/s), "
        f"{len(sids)} stories, {args.writes} articles clustered a second, "
        f"p50 {statistics.median(lat) * 1000:.1f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms, "
        f"max {lat[-1] * 1000:.1f} ms, errors {errors}; CPU: API {cpu / wall * 100:.0f} % of a core "
        f"({len(pids)} processes), Redis {rcpu / wall * 100:.0f} %, load generator {own / wall * 100:.0f} %"
    )


if __name__ == "__main__":
    main()
