"""The extraction lock hands itself to the lowest ticket waiting, then in order of arrival."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from aggregator.ingest.extract import Turns


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiters_go_lowest_ticket_first_then_in_arrival_order() -> None:
    turns = Turns()
    order: list[str] = []
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with turns.turn(0.0):
            held.set()
            release.wait()

    def waiter(name: str, ticket: float) -> None:
        with turns.turn(ticket):
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(5)
    threads = []
    for n, (name, ticket) in enumerate([("late", 3.0), ("early-a", 1.0), ("middle", 2.0), ("early-b", 1.0)]):
        t = threading.Thread(target=waiter, args=(name, ticket))
        t.start()
        threads.append(t)
        _wait_for(lambda n=n: turns.waiting == n + 1)
    release.set()
    for t in [first, *threads]:
        t.join(5)
    assert order == ["early-a", "early-b", "middle", "late"]


def test_a_turn_is_free_again_after_an_error() -> None:
    turns = Turns()
    try:
        with turns.turn(1.0):
            raise ValueError("a page failed")
    except ValueError:
        pass
    done = threading.Event()

    def again() -> None:
        with turns.turn(2.0):
            done.set()

    threading.Thread(target=again).start()
    assert done.wait(5)
