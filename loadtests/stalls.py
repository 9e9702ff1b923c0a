"""Where Redis itself stalled during a load run, from its own latency monitor.

With ``latency-monitor-threshold`` set, Redis notes for each kind of event the longest stall of
every second that passed the threshold: ``aof-fsync-always`` (the sync of its log to disk it
waits for before answering, with ``appendfsync always`` as shipped), ``aof-write``,
``command`` (a slow command), ``fast-command`` and a few more. While it stalls, no client gets
an answer: an order's read and its commit both wait. Redis keeps the last 160 seconds per
event, so :class:`Stalls` reads them every ``every_s`` through the run and
:meth:`Stalls.summary` counts them over the plateau.
"""

from __future__ import annotations

import threading
from typing import Any

import redis

HISTORY_KEPT = 160  # seconds per event that Redis keeps


class Stalls(threading.Thread):
    def __init__(self, url: str, *, threshold_ms: int = 5, every_s: float = 20.0) -> None:
        super().__init__(name="redis-stalls", daemon=True)
        assert every_s < HISTORY_KEPT / 2, "read often enough that no second is dropped"
        self.url, self.threshold_ms, self.every_s = url, threshold_ms, every_s
        self.seen: dict[tuple[str, int], int] = {}  # (event, unix second) → longest stall, ms
        self.error = ""
        self._halt = threading.Event()
        self._client = redis.Redis.from_url(url, socket_timeout=10)
        self._client.config_set("latency-monitor-threshold", threshold_ms)
        self._client.latency_reset()

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
        except redis.RedisError:
            pass
        self._client.close()

    def _read(self) -> None:
        try:
            events = [_text(row[0]) for row in self._client.latency_latest()]
            for event in events:
                for second, ms in self._client.latency_history(event):
                    self.seen[(event, int(second))] = int(ms)
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
        if self.error:
            out["error"] = self.error
        return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
