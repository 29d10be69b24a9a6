"""The extraction lane runs calls one at a time on its own thread, lowest ticket first, then in order of
arrival; a call's exception reaches its caller and the lane goes on."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from aggregator.ingest.lane import Lane


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_calls_run_on_one_thread_lowest_ticket_first_then_in_arrival_order() -> None:
    lane = Lane("test")
    order: list[str] = []
    threads_used: set[int] = set()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait()

    def call(name: str) -> Callable[[], str]:
        def fn() -> str:
            threads_used.add(threading.get_ident())
            order.append(name)
            return name

        return fn

    first = threading.Thread(target=lane.run, args=(0.0, hold))
    first.start()
    assert held.wait(5)
    results: dict[str, str] = {}
    callers = []
    for n, (name, ticket) in enumerate([("late", 3.0), ("early-a", 1.0), ("middle", 2.0), ("early-b", 1.0)]):
        t = threading.Thread(
            target=lambda name=name, ticket=ticket: results.update({name: lane.run(ticket, call(name))})
        )
        t.start()
        callers.append(t)
        _wait_for(lambda n=n: lane.waiting == n + 1)
    release.set()
    for t in [first, *callers]:
        t.join(5)
    assert order == ["early-a", "early-b", "middle", "late"]
    assert results == {name: name for name in order}  # each caller gets its own call's result
    assert len(threads_used) == 1 and threading.get_ident() not in threads_used


def test_submitted_calls_need_no_waiting_caller_and_a_later_call_of_a_ticket_finds_them_done() -> None:
    lane = Lane("test")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait()

    def square(n: int) -> Callable[[], int]:
        return lambda: n * n

    def pages_done() -> list[bool]:
        return [p.done() for p in pages]

    lane.submit(0.0, hold)
    assert held.wait(5)
    pages = [lane.submit(1.0, square(n)) for n in range(5)]  # nobody waits on these
    other = lane.submit(0.5, pages_done)  # a lower ticket goes first
    last = lane.submit(1.0, pages_done)
    assert not any(p.done() for p in pages)
    release.set()
    assert last.result(5) == [True] * 5
    assert other.result(5) == [False] * 5
    assert [p.result() for p in pages] == [0, 1, 4, 9, 16]


def test_an_error_reaches_its_caller_and_the_lane_goes_on() -> None:
    lane = Lane("test")

    def fail() -> None:
        raise ValueError("a page failed")

    with pytest.raises(ValueError, match="a page failed"):
        lane.run(1.0, fail)
    assert lane.run(2.0, lambda: "next") == "next"


def test_a_forked_child_serves_its_own_lane() -> None:
    lane = Lane("test")
    assert lane.run(0.0, os.getpid) == os.getpid()
    child = os.fork()
    if child == 0:  # the parent's lane thread is not in the child: without its own, this would hang
        signal.alarm(10)  # ... and the alarm would end it
        os._exit(0 if lane.run(0.0, os.getpid) == os.getpid() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
