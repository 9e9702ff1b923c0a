"""Locust entry point: the lunch rush of many restaurants (``locust.conf`` holds the knobs).

    locust --config loadtests/locust.conf            # the full profile (see docs/benchmarks.md)
    python -m loadtests.run --profile smoke          # system + seed + run + check in one go
"""

from __future__ import annotations

from typing import Any

import locust.runners
from locust import events
from locust.runners import WorkerRunner

from kitchen.runtime import tune_gc
from loadtests import runtime, thresholds
from loadtests.shape import LunchRush
from loadtests.users import Diner, KitchenScreen, Merchant

__all__ = ["Diner", "KitchenScreen", "LunchRush", "Merchant"]

# A worker busy with thousands of screens on a shared 2-core machine can miss Locust's
# 3-second heartbeat without being gone; the master would then start its users elsewhere
# while they still run. Allow 15 s.
locust.runners.HEARTBEAT_LIVENESS = 15


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    g = parser.add_argument_group("kitchen load test")
    g.add_argument("--plan", default=".loadtest/plan.json", help="written by loadtests.seed")
    g.add_argument("--run-dir", default=".loadtest/run", help="ledgers and thresholds.json")
    g.add_argument("--restaurants", type=int, default=20, help="restaurants to seed")
    g.add_argument("--diners", type=int, default=100, help="diners at the plateau")
    g.add_argument("--diner-pace", type=float, default=6.0, help="seconds between a table's orders")
    g.add_argument("--kitchen-screens", type=int, default=0,
                   help="kitchen screens (0: every station and pass of the plan)")
    g.add_argument("--merchants", type=int, default=5)
    g.add_argument("--warm-s", type=float, default=15)
    g.add_argument("--ramp-s", type=float, default=20)
    g.add_argument("--plateau-s", type=float, default=60)
    g.add_argument("--tail-s", type=float, default=20)
    g.add_argument("--drain-s", type=float, default=15)
    g.add_argument("--tail-share", type=float, default=0.3)
    g.add_argument("--spawn-rate-users", type=float, default=200)
    g.add_argument("--start-delay-min", type=float, default=1.0)
    g.add_argument("--start-delay-max", type=float, default=4.0)
    g.add_argument("--bump-delay-min", type=float, default=2.0)
    g.add_argument("--bump-delay-max", type=float, default=6.0)
    g.add_argument("--p99-accept-ms", type=float, default=50)
    g.add_argument("--p99-station-ms", type=float, default=100)
    g.add_argument("--p99-ready-ms", type=float, default=100)
    g.add_argument("--max-failures", type=int, default=0)


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    # thousands of long-lived users and screens, and a few hundred short-lived objects for
    # every frame read: the servers' collection tuning suits the generator too
    tune_gc()
    options = environment.parsed_options
    if options is None:
        return
    rt = runtime.setup(options)
    screens = int(options.kitchen_screens)
    if screens <= 0 and rt.plan is not None:
        screens = len(rt.plan.restaurants) * rt.plan.screens_per_restaurant
    options.kitchen_screens_resolved = screens
    KitchenScreen.fixed_count = screens
    if rt.plan is not None and not environment.host:
        for user in (Diner, KitchenScreen, Merchant):
            user.host = rt.plan.api_url
    Merchant.fixed_count = int(options.merchants)


@events.test_stop.add_listener
def _flush(environment: Any, **_: Any) -> None:
    if runtime.current.ledger is not None:
        runtime.current.ledger.flush()


@events.quitting.add_listener
def _judge(environment: Any, **_: Any) -> None:
    if runtime.current.ledger is not None:
        runtime.current.ledger.close()
    if isinstance(environment.runner, WorkerRunner):
        return
    if environment.parsed_options is not None:
        thresholds.report(environment, environment.parsed_options)
