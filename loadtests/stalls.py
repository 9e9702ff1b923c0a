"""Where Redis itself stalled during a load run, from its own latency monitor.

With ``latency-monitor-threshold`` set, Redis notes for each kind of event the longest stall of
every second that passed the threshold: ``aof-fsync-always`` (the sync of its log to disk it
waits for before answering, with ``appendfsync always`` as shipped), ``aof-write``,
``command`` (a slow command), ``fast-command`` and a few more. While it stalls, no client gets
an answer: an order's read and its commit both wait. Redis keeps the last 160 seconds per
event, so :class:`Stalls` reads them every ``every_s`` through the run and
:meth:`Stalls.summary` counts them over the plateau.

Which commands were slow comes from Redis's slow log, over the same threshold: counted by
command, the project's Lua scripts by their file name (``EVALSHA`` gives only a digest).
Where Redis's time went comes from its command statistics, read at each turn: the commands
with the most time over the plateau (a script's time includes the commands it calls, which
are counted under their own names too).
"""

from __future__ import annotations

import hashlib
import threading
import time
from functools import cache
from importlib import resources
from typing import Any

import redis

HISTORY_KEPT = 160  # seconds per event that Redis keeps
SLOWLOG_KEPT = 1024
SLOWLOG_DEFAULT_US = 10_000


class Stalls(threading.Thread):
    def __init__(self, url: str, *, threshold_ms: int = 5, every_s: float = 5.0) -> None:
        super().__init__(name="redis-stalls", daemon=True)
        assert every_s < HISTORY_KEPT / 2, "read often enough that no second is dropped"
        self.url, self.threshold_ms, self.every_s = url, threshold_ms, every_s
        self.seen: dict[tuple[str, int], int] = {}  # (event, unix second) → longest stall, ms
        self.slow: dict[int, tuple[int, int, str]] = {}  # slow log id → (second, µs, command)
        self.usage: list[tuple[float, dict[str, tuple[int, int]]]] = []  # (when, calls and µs)
        self.slow_dropped = False  # more slow commands between two reads than Redis keeps
        self.error = ""
        self._halt = threading.Event()
        self._client = redis.Redis.from_url(url, socket_timeout=10)
        self._client.config_set("latency-monitor-threshold", threshold_ms)
        self._client.config_set("slowlog-log-slower-than", threshold_ms * 1000)
        self._client.config_set("slowlog-max-len", SLOWLOG_KEPT)
        self._client.latency_reset()
        self._client.slowlog_reset()
        self._read()

    def run(self) -> None:
        while not self._halt.wait(self.every_s):
            self._read()

    def stop(self) -> None:
        """Read one last time, then switch the monitor off."""
        self._halt.set()
        self.join(30)
        self._read()
        try:
            self._client.config_set("latency-monitor-threshold", 0)
            self._client.config_set("slowlog-log-slower-than", SLOWLOG_DEFAULT_US)
        except redis.RedisError:
            pass
        self._client.close()

    def _read(self) -> None:
        try:
            events = [_text(row[0]) for row in self._client.latency_latest()]
            for event in events:
                for second, ms in self._client.latency_history(event):
                    self.seen[(event, int(second))] = int(ms)
            stats = self._client.info("commandstats")
            self.usage.append((time.time(), {
                name.removeprefix("cmdstat_"): (int(row["calls"]), int(row["usec"]))
                for name, row in stats.items()}))
            entries = self._client.slowlog_get(SLOWLOG_KEPT)
            ids = [int(entry["id"]) for entry in entries]
            if ids and self.slow and min(ids) > max(self.slow) + 1:
                self.slow_dropped = True
            for entry in entries:
                self.slow[int(entry["id"])] = (int(entry["start_time"]), int(entry["duration"]),
                                               command_name(entry["command"]))
        except redis.RedisError as exc:  # Redis gone (a fault test), the rest still counts
            self.error = f"{type(exc).__name__}: {exc}"

    def summary(self, window: tuple[float, float], limit_ms: int = 50) -> dict[str, Any]:
        """Per event over ``window`` (unix seconds): how many seconds had a stall, the
        longest, and how many seconds stalled ``limit_ms`` or more."""
        lo, hi = window
        out: dict[str, Any] = {"threshold_ms": self.threshold_ms, "events": {}}
        for (event, second), ms in sorted(self.seen.items()):
            if lo <= second < hi:
                row = out["events"].setdefault(
                    event, {"seconds": 0, "max_ms": 0, f"seconds_over_{limit_ms}_ms": 0})
                row["seconds"] += 1
                row["max_ms"] = max(row["max_ms"], ms)
                row[f"seconds_over_{limit_ms}_ms"] += ms >= limit_ms
        slow: dict[str, dict[str, int]] = {}
        for second, us, name in self.slow.values():
            if lo <= second < hi:
                row = slow.setdefault(name, {"count": 0, "max_ms": 0})
                row["count"] += 1
                row["max_ms"] = max(row["max_ms"], us // 1000)
        out["slow_commands"] = dict(sorted(slow.items(), key=lambda kv: -kv[1]["count"]))
        out["busiest_commands"] = self._busiest(lo, hi)
        if self.slow_dropped:
            out["slow_commands_note"] = (f"some were not counted: more than {SLOWLOG_KEPT} "
                                         "between two reads")
        if self.error:
            out["error"] = self.error
        return out

    def _busiest(self, lo: float, hi: float, most: int = 10) -> dict[str, Any]:
        """The commands with the most of Redis's time between the reads nearest ``lo`` and
        ``hi``."""
        inside = [u for u in self.usage if lo - self.every_s <= u[0] <= hi + self.every_s]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        rows = []
        for name, (calls, usec) in last.items():
            calls0, usec0 = first.get(name, (0, 0))
            if usec > usec0:
                rows.append((usec - usec0, calls - calls0, name))
        rows.sort(reverse=True)
        return {"seconds": round(t1 - t0, 1), "commands": {
            name: {"calls": calls, "ms": usec // 1000, "us_per_call": round(usec / calls, 1)}
            for usec, calls, name in rows[:most] if calls}}


def command_name(command: bytes | str) -> str:
    """``XADD k:...`` → ``XADD``; ``EVALSHA <digest> ...`` of a project script → its file."""
    raw = command if isinstance(command, bytes) else command.encode()
    words = raw.decode(errors="replace").split(" ", 2)  # arguments may be msgpack
    name = words[0].upper()
    if name in ("EVALSHA", "EVALSHA_RO") and len(words) > 1:
        return f"{name} {scripts().get(words[1], words[1][:12])}"
    return name


@cache
def scripts() -> dict[str, str]:
    """SHA-1 digest → file name of every Lua script of the project."""
    folder = resources.files("kitchen").joinpath("lua")
    return {hashlib.sha1(f.read_bytes()).hexdigest(): f.name
            for f in folder.iterdir() if f.name.endswith(".lua")}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
