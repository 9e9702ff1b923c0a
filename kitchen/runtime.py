"""Running a process's main coroutine on the fastest event loop available, and the limits a
server process lifts at start.

uvloop (a dependency on Linux and macOS) runs the same asyncio code with its I/O, timers and
transports in C; where it is missing, or ``KITCHEN_LOOP=asyncio`` asks for it, the standard
loop runs it.
"""

from __future__ import annotations

import asyncio
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
