"""Clustering settings scored the way unseen news would score them: on every dev corpus, in file order and
in shuffled orders, with syndicated copies, and by the worst case as well as the mean.

    python -m tests.benchmarks.tune ../shared/datasets --set join_threshold=0.14,0.18,0.22 \\
        --set split_separation=0.20,0.22 [--shuffles 8] [--syndicate 3] [--jobs 2]

For every combination of the `--set` values (settings field names), prints B-cubed F1 on:
ecbplus in file order, the mean and worst of `--shuffles` shuffled orders, ecbplus with `--syndicate`
copies (file order, and the worst of three shuffled orders), uci_headlines in file order and the worst of
three shuffled orders, and whether the seeds stay one story: alone with 0, 3 and 10 copies, and streamed
inside ecbplus (at five seeded positions, with 3 copies each at two of them) as exactly one story of
their own articles.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from aggregator.core.models import Article
from aggregator.eval.corpus import read_corpus, shuffled
from aggregator.eval.runner import cluster_in_memory
from aggregator.eval.scoring import score
from aggregator.eval.syndicate import syndicate
from aggregator.settings import Settings, defaults

Rows = list[tuple[Article, str]]


def f1(rows: Rows, settings: Settings) -> float:
    predicted = cluster_in_memory([a for a, _ in rows], settings).stories
    return score(predicted, {a.id: c for a, c in rows}).bcubed_f1


def inserted(stream: Rows, rows: Rows, rng: random.Random) -> Rows:
    """`rows` at random places in `stream`, in their own (time) order."""
    out = list(stream)
    places = sorted(rng.sample(range(len(stream) + len(rows)), len(rows)))
    for place, row in zip(places, sorted(rows, key=lambda r: r[0].published or 0.0), strict=True):
        out.insert(place, row)
    return out


def seeds_whole(seeds: Rows, ecb: Rows, settings: Settings) -> bool:
    """The seeds alone with 0, 3, 10 copies: one story; inside ecbplus: one story of exactly the 5."""
    for k in (0, 3, 10):
        stream = syndicate(seeds, k, seed=k)
        if len(set(cluster_in_memory([a for a, _ in stream], settings).stories.values())) != 1:
            return False
    for position_seed in range(5):
        rng = random.Random(position_seed)
        mine = syndicate(seeds, 3 if position_seed % 2 else 0, seed=position_seed)
        ids = {a.id for a, _ in mine}
        stream = inserted(ecb, mine, rng)
        predicted = cluster_in_memory([a for a, _ in stream], settings).stories
        stories = {predicted[i] for i in ids}
        if len(stories) != 1 or sum(1 for s in predicted.values() if s in stories) != len(ids):
            return False
    return True


def evaluate(job: tuple[dict[str, Any], Path, int, int]) -> dict[str, Any]:
    overrides, data, shuffles, copies = job
    settings = defaults(**overrides)
    ecb = read_corpus(data / "ecbplus.jsonl")
    uci = read_corpus(data / "uci_headlines.jsonl")
    seeds = read_corpus(data / "seeds.jsonl")
    orders = [f1(shuffled(ecb, s), settings) for s in range(1, shuffles + 1)]
    syndicated = [f1(syndicate(shuffled(ecb, s) if s else ecb, copies, seed=s), settings) for s in range(4)]
    uci_orders = [f1(shuffled(uci, s), settings) for s in range(1, 4)]
    return {
        **overrides,
        "ecb": f1(ecb, settings),
        "ecb_mean": statistics.mean(orders),
        "ecb_worst": min(orders),
        "ecb_syn": syndicated[0],
        "ecb_syn_worst": min(syndicated),
        "uci": f1(uci, settings),
        "uci_worst": min(uci_orders),
        "seeds": seeds_whole(seeds, ecb, settings),
    }


def _values(raw: str) -> list[Any]:
    out: list[Any] = []
    for v in raw.split(","):
        try:
            out.append(int(v))
        except ValueError:
            out.append(float(v))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", type=Path, help="the folder holding seeds, ecbplus and uci_headlines (.jsonl)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=V1,V2", help="a setting to vary")
    parser.add_argument("--shuffles", type=int, default=8)
    parser.add_argument("--syndicate", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    grid = {k: _values(v) for k, v in (s.split("=", 1) for s in args.set)}
    combos = [dict(zip(grid, vs, strict=True)) for vs in itertools.product(*grid.values())] or [{}]
    jobs = [(c, args.data, args.shuffles, args.syndicate) for c in combos]
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(evaluate, jobs):
            print("  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
