"""CPU time of processes and of the machine, from /proc: every figure is reported with it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


_parents: tuple[float, dict[int, list[int]]] = (0.0, {})


def _parent_map(max_age_s: float = 0.5) -> dict[int, list[int]]:
    """ppid → pids of every process, read from /proc at most every ``max_age_s``."""
    global _parents
    if time.monotonic() - _parents[0] < max_age_s:
        return _parents[1]
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    _parents = (time.monotonic(), parents)
    return parents


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    parents = _parent_map()
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


class Meter:
    """CPU used by named groups of processes between :meth:`start` and :meth:`stop`.

    A thread samples every process once a second, so a process that ends before
    :meth:`stop` (a Locust worker) still counts with its last sample. Groups are callables
    returning pids, asked again at every sample (processes come and go)."""

    def __init__(self, groups: Mapping[str, Callable[[], Iterable[int]]],
                 every_s: float = 1.0, window: tuple[float, float] | None = None) -> None:
        self.groups = groups
        self.every_s = every_s
        # (from, to) seconds after start: the same figures over that part alone as well
        # (the plateau of a load test, where the averages over the whole run hide a
        # saturated machine behind the quiet warm-up and drain)
        self.window = window
        self._marks: list[tuple[float, tuple[float, float], dict[int, float]]] = []
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._owner: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-meter")
        self._machine = (0.0, 0.0)
        self._wall = 0.0

    def _sample(self) -> None:
        for name, pids in self.groups.items():
            for pid in pids():
                value = cpu_seconds(pid)
                if value <= 0 and pid in self._last:
                    continue  # gone: keep its last sample
                self._owner.setdefault(pid, name)
                self._first.setdefault(pid, value)
                self._last[pid] = value

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()
            if self.window is not None and len(self._marks) < 2 and \
                    time.monotonic() - self._wall >= self.window[len(self._marks)]:
                self._marks.append((time.monotonic(), machine(), dict(self._last)))

    def start(self) -> None:
        self._machine = machine()
        self._wall = time.monotonic()
        self._sample()
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        """Cores used by each group over the interval (1.0 = one core busy all the time),
        and under ``window`` the same over the window, when the run lasted that long."""
        self._stop.set()
        self._thread.join()
        self._sample()
        wall = max(time.monotonic() - self._wall, 1e-9)
        out = self._figures(wall, self._machine, machine(), self._first, self._last)
        if len(self._marks) == 2:
            (t0, m0, c0), (t1, m1, c1) = self._marks
            # a process that came on within the window counts from its first sample
            out["window"] = self._figures(t1 - t0, m0, m1, {**self._first, **c0}, c1)
        return out

    def _figures(self, wall: float, m0: tuple[float, float], m1: tuple[float, float],
                 before: dict[int, float], after: dict[int, float]) -> dict[str, Any]:
        used = dict.fromkeys(self.groups, 0.0)
        for pid, name in self._owner.items():
            if pid in after:
                used[name] += after[pid] - before.get(pid, after[pid])
        wall = max(wall, 1e-9)
        out: dict[str, Any] = {name: round(v / wall, 3) for name, v in used.items()}
        out["machine_busy_share"] = round((m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9), 3)
        out["wall_s"] = round(wall, 1)
        return out
