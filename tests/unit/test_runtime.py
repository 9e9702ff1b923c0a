"""The event loop a process runs on: uvloop unless KITCHEN_LOOP=asyncio asks otherwise."""

from __future__ import annotations

import asyncio
import json

import pytest

from kitchen import runtime


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KITCHEN_LOOP", raising=False)
    assert runtime.run(_loop_module()).startswith("uvloop")


def test_the_standard_loop_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITCHEN_LOOP", "asyncio")
    assert runtime.run(_loop_module()).startswith("asyncio")


def test_a_tuned_process_collects_rarely_and_skips_what_it_loaded() -> None:
    """After tune_gc the objects of start-up are out of every collection, and a burst of
    short-lived objects (a busy second of requests) triggers no full collection."""
    import subprocess
    import sys

    program = (
        "import gc, json; from kitchen import runtime\n"
        "loaded = [[i] for i in range(50_000)]\n"
        "runtime.tune_gc()\n"
        "full = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and info['generation'] == 2"
        " and full.append(1))\n"
        "for _ in range(200_000):\n"
        "    x = {'a': [1, 2]}\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'full': len(full)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         check=True, timeout=60)
    got = json.loads(out.stdout)
    assert got["frozen"] >= 50_000
    assert got["full"] == 0
