"""The lunch rush: screens come on, diners arrive (ramp), the rush (plateau), it thins out
(tail), and the kitchen finishes what is left (drain); then every user stops and the last
statistics come in (settle). Parameters come from ``locust.conf``.

Kitchen screens and merchants are a fixed number of users (``fixed_count``); the shape only
changes the number of diners, so the order rate is ``diners / diner_pace`` per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from locust import LoadTestShape

from loadtests.runtime import current


@dataclass(frozen=True)
class Rush:
    warm_s: float
    ramp_s: float
    plateau_s: float
    tail_s: float
    drain_s: float
    peak: int  # diners at the plateau
    tail_share: float  # share of the peak still ordering at the end of the tail

    @classmethod
    def of(cls, options: Any) -> Rush:
        return cls(float(options.warm_s), float(options.ramp_s), float(options.plateau_s),
                   float(options.tail_s), float(options.drain_s), int(options.diners),
                   float(options.tail_share))

    @property
    def total_s(self) -> float:
        return self.warm_s + self.ramp_s + self.plateau_s + self.tail_s + self.drain_s

    def diners(self, t: float) -> int | None:
        """Diners wanted ``t`` seconds into the run; None once it is over."""
        if t < self.warm_s:
            return 0
        t -= self.warm_s
        if t < self.ramp_s:
            return max(1, round(self.peak * t / self.ramp_s))
        t -= self.ramp_s
        if t < self.plateau_s:
            return self.peak
        t -= self.plateau_s
        if t < self.tail_s:
            share = 1 - (1 - self.tail_share) * t / self.tail_s
            return round(self.peak * share)
        t -= self.tail_s
        if t < self.drain_s:
            return 0
        return None


REPORT_S = 3.0  # how often a Locust worker sends its statistics to the master


def settle_s(options: Any) -> float:
    """After the drain every user stops (each may take the stop timeout to finish its task)
    and the workers report at least twice more, so the master judges the run on every
    request: it stops listening to them half a second after the shape ends."""
    return float(getattr(options, "stop_timeout", 15) or 15) + 2 * REPORT_S + 1


class LunchRush(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        options = current.options
        rush = Rush.of(options)
        now = self.get_run_time()
        diners = rush.diners(now)
        if diners is None:
            return (0, float(options.spawn_rate_users)) \
                if now < rush.total_s + settle_s(options) else None
        fixed = int(options.kitchen_screens_resolved) + int(options.merchants)
        return fixed + diners, float(options.spawn_rate_users)
