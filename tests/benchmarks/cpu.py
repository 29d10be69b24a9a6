"""Where a benchmark's CPU went: by process over a timed window, and how much of the machine's cores sat
idle in it, from psutil."""

from __future__ import annotations

from typing import Any

import psutil

CpuTimes = dict[int, tuple[str, float, float]]


def _label(proc: psutil.Process) -> str:
    argv = proc.cmdline()
    for arg in argv:
        if arg.startswith("--hostname="):
            return arg.split("=", 1)[1].split("@")[0]
    if "beat" in argv:
        return "beat"
    if "api" in argv:
        return "api"
    return proc.name()


def cpu_by_process() -> CpuTimes:
    """CPU seconds used so far (all, and in the kernel) by every process on the machine, by pid, with a
    readable label."""
    found = {}
    for proc in psutil.process_iter():
        try:
            times = proc.cpu_times()
            found[proc.pid] = (_label(proc), times.user + times.system, times.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def report_cpu(before: CpuTimes, after: CpuTimes, n: int) -> None:
    """Where the CPU went in the timed window: milliseconds an article, by process (in the kernel)."""
    spent: dict[str, tuple[float, float]] = {}
    for pid, (label, seconds, kernel) in after.items():
        _, was, was_kernel = before.get(pid, (label, 0.0, 0.0))
        total, in_kernel = spent.get(label, (0.0, 0.0))
        spent[label] = (total + seconds - was, in_kernel + kernel - was_kernel)
    ms = {label: (t * 1000 / n, k * 1000 / n) for label, (t, k) in spent.items()}
    shown = sorted(((t, k, label) for label, (t, k) in ms.items() if t >= 0.05), reverse=True)
    print(
        "  CPU ms an article (kernel): "
        + ", ".join(f"{label} {t:.2f} ({k:.2f})" for t, k, label in shown)
        + f"; all {sum(t for t, _ in ms.values()):.1f} ({sum(k for _, k in ms.values()):.1f})",
        flush=True,
    )


def report_idle(before: Any, after: Any) -> None:
    """How much of the machine's cores went unused in the timed window: where it is little, throughput
    is CPU per article, and only spending less of it raises the ratio."""
    # A core waiting on the disk (iowait, Linux) is unused as much as an idle one.
    unused = [f for f in ("idle", "iowait") if f in after._fields]
    idle = sum(getattr(after, f) - getattr(before, f) for f in unused)
    # Linux counts a guest's time in `user` and `nice` too: left out, it is not counted twice.
    fields = [f for f in after._fields if f not in ("guest", "guest_nice")]
    total = sum(getattr(after, f) - getattr(before, f) for f in fields)
    print(f"  the machine's cores were idle {idle / total:.1%} of the window", flush=True)
