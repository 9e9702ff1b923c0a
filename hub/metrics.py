"""Counters, gauges and one histogram, rendered in the Prometheus text format (no I/O)."""

from __future__ import annotations

import bisect
from collections.abc import Callable

LAG_BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float, weight: int = 1) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += weight
        self.sum += value * weight
        self.count += weight

    def quantile(self, q: float) -> float:
        """Upper bound of the bucket holding the q-quantile (inf past the last bucket)."""
        if not self.count:
            return 0.0
        target, seen = q * self.count, 0
        for bound, n in zip((*self.buckets, float("inf")), self.counts, strict=True):
            seen += n
            if seen >= target:
                return float(bound)
        return float("inf")


class Metrics:
    def __init__(self) -> None:
        self.connections_total = 0
        self.deliveries = 0
        self.events = 0
        self.replayed = 0
        self.reloads = 0
        self.slow_closes = 0
        self.errors = 0
        self.refused = 0
        self.undecodable = 0
        self.lag = Histogram(LAG_BUCKETS_MS)
        self.gauges: dict[str, Callable[[], float]] = {}

    def render(self) -> str:
        lines: list[str] = []

        def one(name: str, kind: str, help_: str, value: float) -> None:
            lines.extend((f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name} {value}"))

        one("hub_connections_opened_total", "counter", "Connections accepted.",
            self.connections_total)
        one("hub_events_total", "counter", "Events read from the streams.", self.events)
        one("hub_deliveries_total", "counter", "Event frames written to connections.",
            self.deliveries)
        one("hub_replayed_total", "counter", "Event frames sent to resuming clients.",
            self.replayed)
        one("hub_reloads_total", "counter", "Resumes answered with reload.", self.reloads)
        one("hub_slow_closes_total", "counter", "Connections cut for a full send buffer.",
            self.slow_closes)
        one("hub_request_errors_total", "counter", "Client requests answered with an error.",
            self.errors)
        one("hub_refused_total", "counter", "Connections refused (bad or revoked token).",
            self.refused)
        one("hub_undecodable_total", "counter", "Stream entries that could not be decoded.",
            self.undecodable)
        for name, read in sorted(self.gauges.items()):
            one(name, "gauge", name.replace("_", " ") + ".", read())
        self._histogram(lines)
        return "\n".join(lines) + "\n"

    def _histogram(self, lines: list[str]) -> None:
        name = "hub_lag_ms"
        lines.append(f"# HELP {name} Time from the event's append to its write, per delivery.")
        lines.append(f"# TYPE {name} histogram")
        seen = 0
        for bound, n in zip(self.lag.buckets, self.lag.counts, strict=False):
            seen += n
            lines.append(f'{name}_bucket{{le="{bound}"}} {seen}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.lag.count}')
        lines.append(f"{name}_sum {self.lag.sum}")
        lines.append(f"{name}_count {self.lag.count}")
