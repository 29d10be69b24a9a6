"""Instructions one clustering pass over a corpus executes: a speed figure that noise cannot move.

Wall-clock throughput on a shared virtual machine swings by a third within minutes; the instruction count
of the same pass is the same on every run. Run under callgrind with collection off at the start; the
script switches it on once the corpus is read and off before the interpreter exits, so only clustering
is counted:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \\
        .venv/bin/python -m tests.benchmarks.bench_instructions ../shared/datasets/ecbplus.jsonl

callgrind prints "Collected : N" as it exits. `--passes 2` counts a warm pass too (subtract one pass's
count). Without valgrind the script just clusters the corpus and prints the wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path

from aggregator.eval.corpus import read_corpus
from aggregator.eval.runner import cluster_in_memory
from aggregator.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--passes", type=int, default=1, help="clustering passes, each from a fresh index")
    args = parser.parse_args()
    settings = get_settings()
    articles = [a for a, _ in read_corpus(args.corpus)]
    _collect("on")
    started = time.perf_counter()
    for _ in range(args.passes):
        cluster_in_memory(articles, settings)
    elapsed = time.perf_counter() - started
    _collect("off")  # the interpreter's teardown is not clustering
    print(f"{len(articles) * args.passes} articles clustered in {elapsed:.2f} s")


def _collect(switch: str) -> None:
    """Switch callgrind's counting on or off; outside valgrind there is no process to switch."""
    control = shutil.which("callgrind_control")
    if control:
        subprocess.run([control, "-i", switch, str(os.getpid())], capture_output=True, check=False)


if __name__ == "__main__":
    main()
