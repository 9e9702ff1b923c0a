"""The lunch rush's shape and the thresholds it is judged on, with Locust itself (in a child
process: Locust patches the standard library with gevent when imported)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json
from types import SimpleNamespace
from locust.stats import RequestStats
from loadtests import runtime, shape, thresholds
from loadtests.users import BUMP_TO_DINER, E2E, ORDER_TO_STATION

options = SimpleNamespace(warm_s=10, ramp_s=10, plateau_s=20, tail_s=10, drain_s=10,
                          diners=60, tail_share=0.5, spawn_rate_users=100, stop_timeout=15,
                          kitchen_screens_resolved=40, merchants=5, p99_accept_ms=50,
                          p99_station_ms=100, p99_ready_ms=100, max_failures=0)
runtime.current.options = options
rush = shape.LunchRush()
settle = shape.settle_s(options)
ticks = []
for t in (0, 30, 59, 60, 60 + settle - 0.5, 60 + settle):
    rush.get_run_time = lambda t=t: t
    ticks.append(rush.tick())

verdicts = {}
for ms in (99, 100, 104):
    stats = RequestStats()
    for method, name, took in (("POST", "place order", 10), (E2E, ORDER_TO_STATION, ms),
                               (E2E, BUMP_TO_DINER, 10)):
        for _ in range(100):
            stats.log_request(method, name, took, 0)
    verdicts[ms] = {v.what: v.ok for v in thresholds.judge(stats, options)}
print(json.dumps({"settle": settle, "ticks": ticks, "verdicts": verdicts}))
"""


def child() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return got


def test_the_shape_and_the_thresholds() -> None:
    """After the drain every user stops, for the stop timeout and two more worker reports,
    and only then does the run end: the master judges on every request, the workers' last
    ones included. The limits are 'below': a p99 of 100 ms fails a limit of 100, and so
    does 104 ms, which Locust keeps as 100."""
    got = child()
    assert got["settle"] == 15 + 2 * 3 + 1
    assert got["ticks"] == [[45, 100.0], [105, 100.0], [45, 100.0], [0, 100.0], [0, 100.0],
                            None]
    station = "p99 order → station screen"
    assert [got["verdicts"][ms][station] for ms in ("99", "100", "104")] == [True, False, False]
    assert all(got["verdicts"]["99"].values())
