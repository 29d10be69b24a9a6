"""`aggregator up`'s children kept running: one that dies is started again, after a wait that doubles
while it keeps dying, and the others, the API first, go on. Stopping stops them all, each given time to
finish what it holds."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

FIRST_WAIT_S = 1.0
LONGEST_WAIT_S = 60.0
HEALTHY_AFTER_S = 60.0  # a child that ran this long before dying starts over from the first wait
STOP_WAIT_S = 20.0


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    wait_s: float = FIRST_WAIT_S
    due: float = 0.0  # when a dead child is started again
    restarts: int = 0


class Supervisor:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.children: list[Child] = []
        self.stopping = False

    def add(self, name: str, argv: Sequence[str]) -> None:
        child = Child(name, list(argv))
        self.children.append(child)
        self._start(child)

    def _start(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, env=self.env)
        child.started = time.monotonic()

    def stop(self, *_: object) -> None:
        self.stopping = True

    def run(self, tick_s: float = 0.2) -> None:
        """Until `stop` (SIGTERM, SIGINT): start again each child that died, after its wait."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        try:
            while not self.stopping:
                self._check(time.monotonic())
                time.sleep(tick_s)
        finally:
            self.stop_all()

    def _check(self, now: float) -> None:
        for child in self.children:
            if child.proc is None:
                if now >= child.due:
                    child.restarts += 1
                    log.warning("starting %s again (restart %d)", child.name, child.restarts)
                    self._start(child)
                continue
            code = child.proc.poll()
            if code is None:
                continue
            if now - child.started >= HEALTHY_AFTER_S:
                child.wait_s = FIRST_WAIT_S
            log.error("%s exited with %s; starting it again in %.0f s", child.name, code, child.wait_s,
                      extra={"child": child.name, "code": code})  # fmt: skip
            child.proc, child.due = None, now + child.wait_s
            child.wait_s = min(LONGEST_WAIT_S, child.wait_s * 2)

    def stop_all(self) -> None:
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        for proc in running:
            try:
                proc.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
