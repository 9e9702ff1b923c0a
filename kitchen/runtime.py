"""Running a process's main coroutine on the fastest event loop available, and the limits a
server process lifts or tunes at start.

uvloop (a dependency on Linux and macOS) runs the same asyncio code with its I/O, timers and
transports in C; where it is missing, or ``KITCHEN_LOOP=asyncio`` asks for it, the standard
loop runs it.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    if os.environ.get("KITCHEN_LOOP", "") == "asyncio":
        return asyncio.run(main)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is installed wherever it builds
        return asyncio.run(main)
    return uvloop.run(main)


def raise_open_files() -> None:
    """Allow as many connections as the hard limit on open files permits (one file each)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def tune_gc() -> None:
    """For a server's steady state: serving allocates many short-lived objects and few
    cycles, so collect the young generation far less often, and keep what was loaded at
    start (code, configuration) out of every collection. At the default thresholds full
    collections took 110–150 ms each in the API under load (every request waits meanwhile),
    up to 390 ms in the workers, and young ones a fifth of the hub's CPU. Call once, after
    start-up's imports."""
    gc.set_threshold(100_000, 50, 100)
    gc.freeze()
