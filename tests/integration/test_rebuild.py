"""rebuild: a Redis that lost everything gets the restaurant's live state back from PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from kitchen import codec, keys
from kitchen.events import now_ms
from kitchen.model import TableStatus
from tests.integration.test_worker_kit import ROOT, R, Service, start_service, until, worker_env
from workers.persist import GROUP, Persister
from workers.rebuild import midnight_ms
from workers.runner import Runner, RunnerOptions

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _live(redis: aioredis.Redis) -> dict[str, Any]:
    def hash_of(raw: dict[bytes, bytes], packed: bool = True) -> dict[str, Any]:
        return {k.decode(): codec.unpack(v) if packed else v.decode() for k, v in raw.items()}

    menu = codec.unpack(await redis.get(keys.menu(R)))
    assert len(menu.pop("stamp")) == 24  # a digest of the bytes, which follow the order below
    for part in ("stations", "categories", "dishes", "set_meals", "offers"):
        menu[part] = sorted(menu[part], key=lambda x: x["id"])  # the order is presentation
    return {
        "menu": menu,
        "stock": hash_of(await redis.hgetall(keys.stock(R)), packed=False),
        "tables": hash_of(await redis.hgetall(keys.tables(R))),
        "orders": hash_of(await redis.hgetall(keys.orders(R))),
        "open": {k: v for k, v in hash_of(await redis.hgetall(keys.open_orders(R)),
                                          packed=False).items() if k != keys.OPEN_MARK},
        "seq": await redis.get(keys.seq(R)),
    }


def _same_day_start() -> int:
    """Ten minutes ago, or just after the restaurant's midnight if that was later: the
    rebuild restores today's orders, so the test's orders must not straddle midnight."""
    now = now_ms()
    return max(now - 600_000, midnight_ms(now, "Asia/Shanghai") + 1_000)


async def _persisted(redis: aioredis.Redis, pool: asyncpg.Pool[Any]) -> None:
    runner = Runner(redis, Persister(pool).handle,
                    RunnerOptions(GROUP, "t", block_ms=50, discover_every_s=0.05))
    task = asyncio.create_task(runner.run())

    async def done() -> bool:
        groups = await redis.xinfo_groups(keys.log(R))
        return bool(groups) and all(int(g["lag"] or 0) == 0 and int(g["pending"]) == 0
                                    for g in groups)

    await until(done, what="persist caught up")
    runner.stop()
    await task


async def _service(svc: Service) -> str:
    await svc.open("A1", 3)
    await svc.open("A2", 2)
    await svc.open("A3", 4)
    first = await svc.order("A1", [("d18", 2), ("d08", 1)], note="少辣")
    await svc.order("A2", [("d08", 2), ("d39", 1)])
    svc.now += 60_000
    await svc.move(first, "start", "L1")
    await svc.add(first, [("d20", 1)])
    svc.now += 120_000
    await svc.move(first, "ready", "L1")
    await svc.give_back(first, "L2")
    later = await svc.order("A1", [("d04", 1)])
    await svc.clear("A2")
    third = await svc.order("A3", [("d04", 1)])
    svc.now += 60_000
    await svc.bill("A3")
    svc.now += 60_000
    await svc.add(third, [("d20", 1)])  # 加菜 after the bill: ordering again
    return later


async def test_rebuild_restores_the_live_state_and_commands_work_again(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], database_url: str,
        redis_url: str) -> None:
    """After FLUSHALL, `python -m workers rebuild` brings back the menu, stock, tables, today's
    orders, the ticket counter and revoked tokens, under a new epoch; then a new order gets
    the next ticket number and kitchen moves work."""
    svc = await start_service(redis, _same_day_start(), stock={"d08": 6}, pool=pool)
    later = await _service(svc)
    await pool.execute("INSERT INTO tokens (restaurant_id, id, role, expires_at, revoked_at) "
                       "VALUES ($1, 'jti-1', 'station', $2, now())", R,
                       datetime.now(UTC) + timedelta(hours=1))
    await _persisted(redis, pool)
    before = await _live(redis)
    old_epoch = await redis.get(keys.epoch(R))
    await redis.flushall()

    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "rebuild", R], cwd=ROOT,
        env=worker_env(database_url, redis_url), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"rebuilt {R}" in result.stdout

    after = await _live(redis)
    assert after == before
    assert after["stock"] == {"d08": "3"}
    assert after["tables"]["A2"]["status"] == TableStatus.FREE
    assert after["tables"]["A3"]["status"] == TableStatus.ORDERING
    assert after["open"], "the rebuilt open-order index is empty"
    assert await redis.hexists(keys.open_orders(R), keys.OPEN_MARK)
    assert await redis.sismember(keys.RESTAURANTS, R)
    assert await redis.sismember(keys.revoked(R), "jti-1")
    new_epoch = await redis.get(keys.epoch(R))
    assert new_epoch and new_epoch != old_epoch

    # commands work on the rebuilt state
    again = await svc.order("A3", [("d08", 1)])
    orders = await svc.orders()
    assert orders[again].no == int(before["seq"]) + 1
    assert await redis.hget(keys.stock(R), "d08") == b"2"
    await svc.move(later, "start", "L1")
    assert (await svc.orders())[later].lines[0].status == "cooking"


async def test_rebuild_of_an_unknown_restaurant_fails_clearly(
        database_url: str, redis_url: str) -> None:
    """Rebuilding a restaurant PostgreSQL does not know exits non-zero and says so."""
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "rebuild", "nope"], cwd=ROOT,
        env=worker_env(database_url, redis_url), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no restaurant 'nope'" in result.stderr
