"""overdue: dishes past their target time are flagged once, through the atomic commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from kitchen import codec, keys
from kitchen.events import DishOverdue, now_ms
from tests.integration.test_worker_kit import (
    R,
    start_service,
    start_worker,
    stop_worker,
    until,
    worker_env,
)
from workers.overdue import OverdueScanner

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = 1_700_000_000_000


async def _overdue_events(redis: aioredis.Redis) -> list[DishOverdue]:
    events = [codec.decode(f[keys.STREAM_FIELD]) for _, f in await redis.xrange(keys.log(R))]
    return [e for e in events if isinstance(e, DishOverdue)]


async def test_a_dish_past_its_target_is_flagged_once_and_others_are_left_alone(
        redis: aioredis.Redis) -> None:
    """Only queued or cooking dishes past target_s are flagged, each once however often the
    scan runs; the live order carries overdue=True."""
    svc = await start_service(redis, T0)
    await svc.open("A1", 2)
    order_id = await svc.order("A1", [("d18", 1), ("d20", 1), ("d39", 1)])  # 420 s, 360 s, 60 s
    await svc.move(order_id, "start", "L1")
    svc.now += 100_000
    await svc.move(order_id, "ready", "L3")
    scanner = OverdueScanner(redis, svc.store)
    assert await scanner.scan(R, now=T0 + 300_000) == []
    assert await scanner.scan(R, now=T0 + 400_000) == [(order_id, "L2")]
    assert await scanner.scan(R, now=T0 + 500_000) == [(order_id, "L1")]
    assert await scanner.scan(R, now=T0 + 900_000) == []
    order = (await svc.orders())[order_id]
    assert [ln.overdue for ln in order.lines] == [True, True, False]
    events = await _overdue_events(redis)
    assert [(e.line_id, e.ts) for e in events] == [("L2", T0 + 400_000), ("L1", T0 + 500_000)]
    assert events[-1].order.line("L1").overdue  # type: ignore[union-attr]


async def test_concurrent_scanners_flag_a_dish_only_once(redis: aioredis.Redis) -> None:
    """Five scanners racing over the same late dishes append one event per dish."""
    svc = await start_service(redis, T0)
    await svc.open("A1", 2)
    await svc.order("A1", [("d18", 1), ("d20", 2)])
    await svc.open("A2", 2)
    await svc.order("A2", [("d17", 1)])
    scanners = [OverdueScanner(redis, svc.store) for _ in range(5)]
    flagged = await asyncio.gather(*(s.scan(R, now=T0 + 3_600_000) for s in scanners))
    assert sum(len(f) for f in flagged) == 3
    assert len(await _overdue_events(redis)) == 3


async def test_the_worker_process_flags_late_dishes_by_itself(
        redis: aioredis.Redis, database_url: str, redis_url: str, tmp_path: Path) -> None:
    """`python -m workers overdue` finds a dish cooking for longer than its target and flags it."""
    svc = await start_service(redis, now_ms() - 1_000_000)
    await svc.open("A1", 2)
    order_id = await svc.order("A1", [("d18", 1)])
    env = worker_env(database_url, redis_url, WORKER_OVERDUE_S="0.1")
    proc = start_worker(env, "overdue", log=tmp_path / "overdue.log")
    try:
        await until(lambda: _overdue_events(redis), what="a DishOverdue event")
    finally:
        stop_worker(proc)
    [event] = await _overdue_events(redis)
    assert (event.order.id, event.line_id) == (order_id, "L1")
    assert proc.returncode == 0
