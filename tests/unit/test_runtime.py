"""The event loop a process runs on: uvloop unless KITCHEN_LOOP=asyncio asks otherwise."""

from __future__ import annotations

import asyncio

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
