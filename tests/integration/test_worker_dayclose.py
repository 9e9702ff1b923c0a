"""dayclose: each morning the live state starts a new day: yesterday's finished orders leave
it (PostgreSQL keeps them), ticket numbers start at 1 again; nothing still in the kitchen,
at the pass or on a seated table is dropped, and no ticket number is given twice in a day."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from kitchen import demo, keys
from tests.integration.test_worker_kit import (
    ROOT,
    R,
    Service,
    start_service,
    until,
    worker_env,
)
from workers import dayclose
from workers.config import WorkerConfig
from workers.dayclose import close_all, close_day, next_close
from workers.rebuild import midnight_ms

pytestmark = pytest.mark.asyncio(loop_scope="session")

TZ = "Asia/Shanghai"
EVENING = int(datetime(2026, 11, 24, 20, 0, tzinfo=ZoneInfo(TZ)).timestamp() * 1000)
MORNING = int(datetime(2026, 11, 25, 4, 0, tzinfo=ZoneInfo(TZ)).timestamp() * 1000)


async def _serve_all(svc: Service, order_id: str) -> None:
    lines = tuple(ln.id for ln in (await svc.orders())[order_id].lines)
    await svc.move(order_id, "ready", *lines)
    await svc.move(order_id, "serve", *lines)


async def _yesterday(redis: aioredis.Redis) -> tuple[Service, dict[str, str]]:
    """Last night: A1 ate and left; A2 ate and is still seated; A3's dish is still cooking."""
    svc = await start_service(redis, EVENING)
    ids: dict[str, str] = {}
    for table in ("A1", "A2", "A3"):
        await svc.open(table, 2)
        ids[table] = await svc.order(table, [("d39", 1)])
    await _serve_all(svc, ids["A1"])
    await _serve_all(svc, ids["A2"])
    await svc.clear("A1")
    return svc, ids


async def test_the_day_close_keeps_what_is_still_going_and_numbers_start_again(
        redis: aioredis.Redis) -> None:
    svc, ids = await _yesterday(redis)
    assert [o.no for o in (await svc.orders()).values()] == [1, 2, 3]
    closed = await close_day(svc.store, R, TZ, now=MORNING)
    assert (closed.removed, closed.kept, closed.counter_reset) == (1, 2, True)
    assert set(await svc.orders()) == {ids["A2"], ids["A3"]}
    svc.now = MORNING + 7 * 3_600_000  # lunch
    await svc.open("B1", 2)
    lunch = await svc.order("B1", [("d39", 1)])
    assert (await svc.orders())[lunch].no == 1
    again = await close_day(svc.store, R, TZ, now=svc.now)  # same day: nothing to do
    assert (again.removed, again.counter_reset) == (0, False)
    assert (await svc.orders())[lunch].no == 1


async def test_numbers_go_on_when_an_order_came_after_midnight(redis: aioredis.Redis) -> None:
    """A late diner ordered at 00:30: resetting the counter then would give that ticket
    number twice today, so it goes on; yesterday's finished order still leaves."""
    svc, ids = await _yesterday(redis)
    svc.now = midnight_ms(MORNING, TZ) + 30 * 60_000
    await svc.open("B2", 1)
    late = await svc.order("B2", [("d39", 1)])
    closed = await close_day(svc.store, R, TZ, now=MORNING)
    assert (closed.removed, closed.counter_reset) == (1, False)
    assert ids["A1"] not in await svc.orders()
    svc.now = MORNING + 60_000
    nxt = await svc.order("B2", [("d39", 1)])
    orders = await svc.orders()
    assert (orders[late].no, orders[nxt].no) == (4, 5)


async def _broken(redis: aioredis.Redis) -> str:
    """A second restaurant whose live orders hold one that does not decode."""
    other = await start_service(redis, EVENING, menu=demo.menu("r2", now_ms=EVENING))
    await other.open("A1", 2)
    await other.order("A1", [("d39", 1)])
    await redis.hset(keys.orders("r2"), "garbled", b"\xc1")
    return "r2"


async def test_one_restaurant_that_cannot_close_keeps_no_other_open(
        redis: aioredis.Redis) -> None:
    """A restaurant whose close fails is reported, and every other one is closed."""
    svc, _ = await _yesterday(redis)
    broken = await _broken(redis)
    closed, failed = await close_all(svc.store, TZ, now=MORNING)
    assert [(c.restaurant_id, c.removed, c.counter_reset) for c in closed] == [(R, 1, True)]
    assert list(failed) == [broken] and "CodecError" in failed[broken]
    assert await redis.get(keys.seq(R)) == b"0"
    assert await redis.get(keys.seq(broken)) == b"1"


async def test_the_role_tries_a_failed_close_again_until_it_is_done(
        redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The role closes what it can at once and tries the rest again every RETRY_S, not a
    day later: once the broken order is gone, that restaurant's day is closed too."""
    monkeypatch.setattr(dayclose, "RETRY_S", 0.1)
    svc, _ = await _yesterday(redis)
    broken = await _broken(redis)
    closer = dayclose.DayCloser(redis, svc.store, TZ, "04:00")

    async def mend() -> None:
        await until(lambda: _seq_is(redis, R, b"0"), what="the sound restaurant closed")
        await asyncio.sleep(0.3)
        await redis.hdel(keys.orders(broken), "garbled")

    await asyncio.wait_for(asyncio.gather(closer.close_until_done(), mend()), 20)
    assert await redis.get(keys.seq(broken)) == b"0"


async def _seq_is(redis: aioredis.Redis, rid: str, value: bytes) -> bool:
    return bool(await redis.get(keys.seq(rid)) == value)


async def test_close_day_on_the_command_line(redis: aioredis.Redis, database_url: str,
                                             redis_url: str) -> None:
    """`python -m workers close-day` closes every restaurant's day and says what it did.
    Its clock is the real one: last night's orders are placed a day ago."""
    svc = await start_service(redis, midnight_ms(int(datetime.now().timestamp() * 1000), TZ)
                              - 4 * 3_600_000)
    await svc.open("A1", 2)
    done = await svc.order("A1", [("d39", 1)])
    await _serve_all(svc, done)
    await svc.clear("A1")
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "close-day"], cwd=ROOT,
        env=worker_env(database_url, redis_url, KITCHEN_TZ=TZ), capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"closed the day of {R}: 1 earlier orders removed, 0 kept" in result.stdout
    assert await redis.hlen(keys.orders(R)) == 0
    assert await redis.get(keys.seq(R)) == b"0"


async def test_the_close_time_is_the_next_one_and_checked() -> None:
    tz = ZoneInfo(TZ)
    assert next_close(datetime(2026, 11, 25, 3, 0, tzinfo=tz), "04:00") == \
        datetime(2026, 11, 25, 4, 0, tzinfo=tz)
    assert next_close(datetime(2026, 11, 25, 4, 0, tzinfo=tz), "04:00") == \
        datetime(2026, 11, 26, 4, 0, tzinfo=tz)
    assert WorkerConfig.from_env({"WORKER_DAY_CLOSE_AT": "3:5"}).day_close_at == "03:05"
    with pytest.raises(Exception, match="HH:MM"):
        WorkerConfig.from_env({"WORKER_DAY_CLOSE_AT": "25:00"})
