"""Clustering cost per article as the index grows from 10k to 200k articles (in-process index, one core).

The stream is synthesised from a labelled corpus read at run time (never copied into the project):
copy k of the corpus renames every name (capitalised word) with a suffix of its own and drops a few
words at random, so each copy reports "new" events of the same kinds. Each copy is dated `--hours-apart`
after the previous one (8 h: the 72 h story window holds nine copies, about 9k articles, from 10k on),
so the window keeps expiring the oldest while the total indexed grows to 200k; the archive of closed
stories keeps 30 days (90 copies) of story summaries, so it fills for the first 90k articles and then
holds steady too.

    python -m tests.benchmarks.bench_scaling ../shared/datasets/ecbplus.jsonl --total 200000
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from aggregator.core.models import Article
from aggregator.eval.corpus import read_corpus
from aggregator.eval.runner import InMemory
from aggregator.settings import get_settings

_NAME = re.compile(r"\b([A-Z][a-z]+)\b")


def perturbed(base: Sequence[Article], total: int, hours_apart: float, seed: int = 7) -> Iterator[Article]:
    rng = random.Random(seed)
    copy = 0
    while True:
        tag = f"x{copy:x}"
        rename = f"\\1{tag}"
        for i, a in enumerate(base):
            if copy * len(base) + i >= total:
                return
            words = _NAME.sub(rename, a.text).split(" ")
            text = " ".join(w for w in words if rng.random() > 0.05)
            when = 1_700_000_000.0 + copy * hours_apart * 3600.0 + i
            yield replace(a, id=f"{a.id}~{tag}", title=_NAME.sub(rename, a.title),
                          text=text, published=when, fetched=when)  # fmt: skip
        copy += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--total", type=int, default=200_000)
    parser.add_argument("--every", type=int, default=10_000, help="report every N articles")
    parser.add_argument("--hours-apart", type=float, default=8.0, help="time between copies of the corpus")
    args = parser.parse_args()

    settings = get_settings()
    base = [a for a, _ in read_corpus(args.corpus)]
    clustering = InMemory(settings)
    batch: list[Article] = []
    done, started, spent = 0, time.perf_counter(), 0.0
    print("indexed  us/article(last slice)  live_records  archived_stories  df_slots  rss_MiB")
    for article in perturbed(base, args.total, args.hours_apart):
        batch.append(article)
        if len(batch) == settings.ingest_batch_size:
            t = time.perf_counter()
            clustering.add(batch)
            spent += time.perf_counter() - t
            done += len(batch)
            batch = []
            if done % args.every == 0:
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                live = len(clustering.index.records)
                slots = int(np.count_nonzero(clustering.index.df.slots))
                archived = len(clustering.index.summaries)
                cost = spent / args.every * 1e6
                print(f"{done:7d}  {cost:10.0f}  {live:12d}  {archived:16d}  {slots:8d}  {rss:7.0f}")
                spent = 0.0
    print(f"total {done} articles in {time.perf_counter() - started:.1f} s (stream synthesis included)")


if __name__ == "__main__":
    main()
