"""`aggregator up | api | worker | beat | feeds | eval`: the entry points (`wiring.py` builds the parts)."""

from __future__ import annotations

import argparse
import os
import resource
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from pydantic import ValidationError

from aggregator import client, logs
from aggregator.dispatch import CLUSTERING, FEEDS, NEW_FEEDS, PAGES, QUEUES, SCHEDULER, WEBHOOKS
from aggregator.errors import AggregatorError
from aggregator.settings import Settings, get_settings


def _celery(settings: Settings, *args: str) -> None:
    """Replace this process with Celery's own CLI, so signals and exit codes are Celery's."""
    argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app:app", *args]
    os.execv(sys.executable, argv)


def cmd_api(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from aggregator.api.app import create_app, exposure_problem, settled
    from aggregator.api.protocol import HeaderDeadline

    if problem := exposure_problem(settings):
        raise AggregatorError(problem)

    # Every open connection holds a file: take all the system allows (a flood of slow clients must not
    # leave the API unable to accept its health checks at a low default limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workers = settings.api_workers or os.cpu_count() or 1
    # Several processes need the app by name: each builds its own from the environment, as this one
    # built `settings`. Open event streams would hold a shutdown forever: they get a few seconds.
    app: Any = settled(create_app(settings)) if workers == 1 else "aggregator.api.app:from_environment"
    HeaderDeadline.header_timeout_s = settings.api_header_timeout_s
    uvicorn.run(
        app, factory=workers > 1, workers=workers, host=settings.host, port=settings.port,
        log_level="info", access_log=settings.api_access_log, timeout_graceful_shutdown=5,
        http=HeaderDeadline,
    )  # fmt: skip
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    queues = args.queues.split(",")
    if unknown := set(queues) - set(QUEUES):
        raise SystemExit(f"unknown queues {sorted(unknown)}; the queues are {', '.join(QUEUES)}")
    if args.cpu is not None:
        # Before Celery starts: the worker's threads inherit it, and it outlives `execv`.
        try:
            os.sched_setaffinity(0, {args.cpu})
        except (AttributeError, OSError) as exc:
            raise AggregatorError(f"cannot run on CPU {args.cpu}: {exc}") from exc
    _celery(
        settings, "worker", "--loglevel=WARNING", f"--queues={args.queues}",
        f"--concurrency={args.concurrency}", f"--pool={args.pool}", f"--hostname={args.name}@%h",
        "--without-gossip",
    )  # fmt: skip
    return 0


# `aggregator up`'s workers, one per kind of work: feeds (new ones first) and the scheduler's ticks, and
# webhooks, wait on the network, so threads serve them; webhooks have their own, so a backlog of feed
# refreshes never holds a delivery back. Pages wait on the network and on politeness, then are parsed: a
# process per core (parsing is CPU), each with threads (a page waiting for its host or its server holds
# a thread, not a core). Clustering takes a lock, so one at a time. A page worker on a core of its own
# keeps its parser's memory in that core's caches: moved between cores as the other processes wake, it
# spends far more CPU a page.
PAGE_THREADS = 8


def _cpus() -> list[int]:
    """The CPUs this process may run on; none where that cannot be asked (nothing is pinned then)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return []


def _workers(processes: int, cpus: Sequence[int] = ()) -> list[list[str]]:
    """Each worker's flags; page workers get a CPU each from `cpus` when there are enough."""
    pinned = list(cpus) if 0 < processes <= len(cpus) else []
    return [
        ["--name=feeds", f"--queues={SCHEDULER},{NEW_FEEDS},{FEEDS}", "--pool=threads", "--concurrency=8"],
        ["--name=webhooks", f"--queues={WEBHOOKS}", "--pool=threads", "--concurrency=8"],
        *(
            [
                f"--name=pages{i + 1}",
                f"--queues={PAGES}",
                "--pool=threads",
                f"--concurrency={PAGE_THREADS}",
                *([f"--cpu={pinned[i]}"] if pinned else []),
            ]
            for i in range(processes)
        ),
        ["--name=clustering", f"--queues={CLUSTERING}", "--pool=solo", "--concurrency=1"],
    ]


def cmd_beat(settings: Settings, _: argparse.Namespace) -> int:
    import_feeds(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.data_dir / "celerybeat-schedule"
    _celery(settings, "beat", "--loglevel=WARNING", f"--schedule={schedule}")
    return 0


def import_feeds(settings: Settings) -> int:
    from aggregator.usecases.feeds import load_feeds
    from aggregator.wiring import Wiring

    wiring = Wiring(settings)
    try:
        added = wiring.feeds.import_once(load_feeds(settings.feeds_file))
    finally:
        wiring.close()
    print(f"feeds file {settings.feeds_file}: {added} new feed(s) imported", flush=True)
    return added


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Everything in the foreground: embedded Redis when none is configured, API, worker, beat."""
    from aggregator.api.app import exposure_problem
    from aggregator.devserver import EmbeddedRedis
    from aggregator.supervisor import Supervisor

    if problem := exposure_problem(settings):
        raise AggregatorError(problem)

    server = None
    env = dict(os.environ)
    if not settings.redis_url:
        server = EmbeddedRedis(settings.data_dir, max_mb=settings.embedded_redis_max_mb)
        server.start()
        env["AGGREGATOR_REDIS_URL"] = server.url
        print(f"embedded redis-server on {server.url}, data in {settings.data_dir}", flush=True)
    exe = [sys.executable, "-m", "aggregator.cli"]
    supervisor = Supervisor(env)
    supervisor.add("api", [*exe, "api"])
    supervisor.add("beat", [*exe, "beat"])
    cpus = _cpus() if settings.pin_page_workers else []
    for flags in _workers(args.concurrency or os.cpu_count() or 1, cpus):
        supervisor.add(flags[0].removeprefix("--name="), [*exe, "worker", *flags])
    print(f"serving on http://{settings.host}:{settings.port} (Ctrl-C stops everything)", flush=True)
    try:
        supervisor.run()  # the children first, then Redis: they may still be writing to it
    finally:
        if server:
            server.stop()
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from aggregator.eval.runner import run_eval

    return run_eval(settings, args)


_ALL = "Every setting, with its default: config/settings.example.env (or `python -m aggregator.settings`)."


def _command(sub: Any, name: str, summary: str, settings: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and which settings it reads."""
    return sub.add_parser(  # type: ignore[no-any-return]
        name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.",
        epilog=f"Settings: {settings}. {_ALL}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aggregator", description=__doc__)
    p.add_argument("--version", action="version", version=f"aggregator {version('aggregator')}")
    sub = p.add_subparsers(dest="command", required=True)
    up = _command(
        sub, "up", "run API, workers, scheduler (and an embedded Redis) in the foreground; Ctrl-C stops all",
        "AGGREGATOR_REDIS_URL (unset: an embedded redis-server keeping its data in AGGREGATOR_DATA_DIR, "
        "at most AGGREGATOR_EMBEDDED_REDIS_MAX_MB), AGGREGATOR_HOST, AGGREGATOR_PORT, "
        "AGGREGATOR_API_WORKERS, AGGREGATOR_FEEDS_FILE, AGGREGATOR_API_KEYS",
    )  # fmt: skip
    up.add_argument(
        "--concurrency", type=int, default=0, help="processes that fetch and parse pages (0: one per core)"
    )
    _command(
        sub, "api", "run the HTTP API and the reading pages",
        "AGGREGATOR_REDIS_URL, AGGREGATOR_HOST, AGGREGATOR_PORT, AGGREGATOR_API_WORKERS, "
        "AGGREGATOR_API_KEYS, AGGREGATOR_API_HEADER_TIMEOUT_S, AGGREGATOR_MAX_REQUEST_BYTES",
    )  # fmt: skip
    worker = _command(
        sub, "worker", "run a Celery worker on some of the queues",
        "AGGREGATOR_REDIS_URL (the broker too), the fetch settings (AGGREGATOR_HOST_CONCURRENCY, "
        "AGGREGATOR_HOST_GAP_S, AGGREGATOR_ALLOW_PRIVATE_HOSTS, ...) and the clustering ones",
    )  # fmt: skip
    worker.add_argument(
        "--queues", default=",".join(QUEUES),
        help=f"comma-separated queues to take work from (default: all of {', '.join(QUEUES)})",
    )  # fmt: skip
    worker.add_argument("--concurrency", type=int, default=2, help="tasks at once")
    worker.add_argument("--pool", choices=("prefork", "threads", "solo"), default="prefork")
    worker.add_argument("--name", default="worker", help="the worker's name, unique among the workers")
    worker.add_argument("--cpu", type=int, help="run on this CPU only (Linux)")
    _command(
        sub, "beat", "import the feeds file, then run the scheduler that hands out due feeds",
        "AGGREGATOR_REDIS_URL, AGGREGATOR_FEEDS_FILE, AGGREGATOR_DATA_DIR, AGGREGATOR_POLL_INTERVAL_S",
    )  # fmt: skip
    client.add_parser(sub)
    ev = _command(
        sub, "eval", "score the clustering on a labelled corpus (JSON Lines: id, cluster, title, text, ...)",
        "AGGREGATOR_REDIS_URL without --memory, and the clustering settings (AGGREGATOR_JOIN_THRESHOLD, ...)",
    )  # fmt: skip
    ev.add_argument("corpus")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--memory", action="store_true", help="in-process index, no Redis")
    ev.add_argument("--assignments", help="write {id, story} lines to this file")
    ev.add_argument(
        "--syndicate", type=int, default=0, metavar="K",
        help="republish every article K times as other outlets would (verbatim, trimmed, retitled, "
        "credited), each copy in its source's cluster",
    )  # fmt: skip
    ev.add_argument("--seed", type=int, default=0, help="seed of the syndicated copies")
    ev.add_argument("--shuffle", type=int, metavar="SEED", help="stream the corpus in a seeded random order")
    return p


COMMANDS = {
    "up": cmd_up, "api": cmd_api, "worker": cmd_worker, "beat": cmd_beat, "eval": cmd_eval,
    "feeds": client.run,
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "_".join(str(part) for part in first.get("loc", ())).upper()
        print(f"aggregator: setting AGGREGATOR_{where}: {first.get('msg')}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format, settings.log_level)
    try:
        return COMMANDS[args.command](settings, args)
    except AggregatorError as exc:  # expected failures are one line; a bug keeps its traceback
        print(f"aggregator {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
