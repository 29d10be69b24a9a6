"""A lane: CPU-bound calls of a process run one at a time on one thread of their own, lowest ticket
first, then in the order they came.

A page worker's threads wait on the network; making articles of pages is all CPU. Doing it in whichever
thread a page's task runs on costs more CPU a page than handing every page to one thread (figures in the
README's ingest section), as several threads take the interpreter in turn. The lowest ticket goes first
so that a task's pages (its ticket is when it began) finish together, early tasks first: in any order,
every task of a worker would end at about the same time, late, and nothing would reach the clustering
worker meanwhile.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class Lane:
    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.PriorityQueue[tuple[float, int, Callable[[], Any], Future[Any]]] = (
            queue.PriorityQueue()
        )
        self._arrivals = itertools.count()
        self._start = threading.Lock()
        self._pid = 0  # the process whose thread serves the lane: a forked child starts its own

    def submit(self, ticket: float, fn: Callable[[], T]) -> Future[T]:
        """`fn()` on the lane's thread, once every call with a lower ticket (or an equal one submitted
        before) has run: its future, which holds its result or its exception."""
        self._ensure_thread()
        done: Future[T] = Future()
        self._jobs.put((ticket, next(self._arrivals), fn, done))
        return done

    def run(self, ticket: float, fn: Callable[[], T]) -> T:
        """`submit`, waiting for the result, or the exception raised here. `fn` must not run on the lane
        itself: it would wait for its own turn forever."""
        return self.submit(ticket, fn).result()

    @property
    def waiting(self) -> int:
        return self._jobs.qsize()

    def _ensure_thread(self) -> None:
        with self._start:
            if self._pid != os.getpid():
                self._jobs = queue.PriorityQueue()  # a forked child's copy may hold its parent's jobs
                threading.Thread(target=self._serve, args=(self._jobs,), name=self.name, daemon=True).start()
                self._pid = os.getpid()

    @staticmethod
    def _serve(jobs: queue.PriorityQueue[tuple[float, int, Callable[[], Any], Future[Any]]]) -> None:
        while True:
            _, _, fn, done = jobs.get()
            try:
                done.set_result(fn())
            except BaseException as exc:  # the caller gets it; the lane serves the next
                done.set_exception(exc)
