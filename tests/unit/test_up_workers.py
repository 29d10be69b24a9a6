"""The workers `aggregator up` starts: a page worker per process, each on a CPU of its own when there are
enough."""

from __future__ import annotations

from aggregator.cli import _workers, build_parser


def _pages(flags: list[list[str]]) -> list[list[str]]:
    return [f for f in flags if f[0].startswith("--name=pages")]


def test_page_workers_get_a_cpu_each_when_there_are_enough() -> None:
    pages = _pages(_workers(2, [3, 5, 7]))
    assert [[f for f in p if f.startswith("--cpu=")] for p in pages] == [["--cpu=3"], ["--cpu=5"]]
    assert build_parser().parse_args(["worker", *pages[0]]).cpu == 3


def test_more_page_workers_than_cpus_or_pinning_off_run_anywhere() -> None:
    for cpus in ([0], []):
        assert not [f for p in _pages(_workers(2, cpus)) for f in p if f.startswith("--cpu")]
    assert len(_pages(_workers(3, []))) == 3
