"""The load harness, small: the API keeps answering `GET /v1/stories/{id}` while a real worker ingests.
The figures (requests per second, p50/p99, worker memory after 50,000 articles) come from
`python -m tests.benchmarks.bench_load`; this test checks the loop itself and that nothing fails."""

from __future__ import annotations

from tests.benchmarks.bench_load import run_load


def test_reads_succeed_while_ingest_runs() -> None:
    report = run_load(articles=300, feeds=3, rps=40, clients=2, concurrency=2, windows=3, timeout_s=120)
    assert report.articles == 300
    assert report.windows and report.windows[-1].articles == 300
    assert report.requests > 20  # reads were served during ingest, not only after it
    assert report.errors == 0
    # Every fifth article is a copy of the one before and joins it: at most 240 stories. The made-up
    # texts share their commonest words, so a few originals merge too; most stay apart.
    assert 180 <= report.stories <= 240
    assert report.worker_rss_mib > 0
