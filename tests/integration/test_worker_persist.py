"""persist: the logs into PostgreSQL, idempotently, also across a SIGKILL mid-batch."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from api.menu_edit import MAX_PRICE
from kitchen import demo, keys
from tests.integration.test_worker_kit import (
    R,
    Service,
    start_service,
    start_worker,
    stop_worker,
    until,
    worker_env,
)
from workers.persist import GROUP, Persister
from workers.runner import Entry, Runner, RunnerOptions

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = 1_700_000_000_000


async def _service(svc: Service) -> dict[str, str]:
    """Two tables, three orders, every kind of kitchen move; returns order ids by name."""
    await svc.open("A1", 3)
    await svc.open("A2", 2)
    a = await svc.order("A1", [("d18", 2), ("d34", 1)], note="少辣")
    b = await svc.order("A2", [("d39", 1), ("d04", 1)])
    svc.now += 60_000
    await svc.move(a, "start", "L1")
    (added,) = await svc.add(a, [("d20", 1)])
    await svc.urge(a, "L1")
    svc.now += 240_000
    await svc.move(a, "ready", "L1", "L2")
    await svc.give_back(b, "L2")
    await svc.move(b, "void", "L1")
    c = await svc.order("A2", [("d31", 2)])
    await svc.move(a, "serve", "L1")
    svc.now += 600_000
    await svc.clear("A2")
    return {"a": a, "b": b, "c": c, "added": added}


async def _drain(redis: aioredis.Redis, persister: Persister) -> None:
    runner = Runner(redis, persister.handle,
                    RunnerOptions(GROUP, "t", batch_size=4, block_ms=50, discover_every_s=0.05))
    task = asyncio.create_task(runner.run())
    await until(lambda: _caught_up(redis), what="persist caught up")
    runner.stop()
    await task


async def _caught_up(redis: aioredis.Redis) -> bool:
    for g in await redis.xinfo_groups(keys.log(R)):
        if g["name"] == GROUP.encode():
            return int(g["lag"] or 0) == 0 and int(g["pending"]) == 0
    return False


async def _rows(pool: asyncpg.Pool[Any], sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(sql, *args)]


async def test_a_service_lands_in_postgres_exactly_as_the_live_state(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any]) -> None:
    """Orders and lines in PostgreSQL equal the live orders; every event and move is a row."""
    svc = await start_service(redis, T0)
    await _service(svc)
    await _drain(redis, Persister(pool))
    live = await svc.orders()
    rows = await _rows(pool, "SELECT * FROM orders ORDER BY id")
    assert [r["id"] for r in rows] == sorted(live)
    for row in rows:
        order = live[row["id"]]
        assert (row["table_no"], row["no"], row["total_fen"]) == (
            order.table_no, order.no, order.total_fen)
        lines = await _rows(pool, "SELECT * FROM order_lines WHERE order_id = $1 ORDER BY id",
                            row["id"])
        assert [(ln["id"], ln["status"], ln["qty"], ln["note"], ln["times"]) for ln in lines] == [
            (ln.id, str(ln.status), ln.qty, ln.note, ln.times)
            for ln in sorted(order.lines, key=lambda x: x.id)]
    events = await _rows(pool, "SELECT event_id, type FROM events ORDER BY ts, stream_id")
    assert sorted(e["event_id"] for e in events) == sorted(e.id for e in svc.events)
    moves = await _rows(pool, "SELECT from_status, to_status FROM dish_status_changes")
    assert {"from_status": "queued", "to_status": "returned"} in moves
    assert {"from_status": "cooking", "to_status": "ready"} in moves
    assert {"from_status": "queued", "to_status": "voided"} in moves
    sessions = await _rows(pool, "SELECT table_no, guests, closed_at FROM table_sessions "
                                 "ORDER BY table_no")
    assert sessions == [{"table_no": "A1", "guests": 3, "closed_at": None},
                        {"table_no": "A2", "guests": 2, "closed_at": svc.now}]


async def test_the_largest_order_the_menu_allows_lands_whole(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any]) -> None:
    """An order of 30 items of 20 at the highest price a dish may have (10,000,000 fen), then
    加菜 of as much again: its total, past what a 32-bit integer holds, is in PostgreSQL."""
    menu = demo.menu(now_ms=T0)
    dear = tuple(replace(d, price_fen=MAX_PRICE) if d.id == "d18" else d for d in menu.dishes)
    svc = await start_service(redis, T0, replace(menu, dishes=dear))
    await svc.open("A1", 8)
    big = await svc.order("A1", [("d18", 20)] * 30)
    await svc.add(big, [("d18", 20)] * 30)
    await _drain(redis, Persister(pool))
    total = await pool.fetchval("SELECT total_fen FROM orders WHERE id = $1", big)
    assert total == 2 * 30 * 20 * MAX_PRICE == (await svc.orders())[big].total_fen


async def test_an_older_event_delivered_again_never_overwrites_newer_state(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any]) -> None:
    """Handling the first event of an order again leaves the newer order state in place."""
    svc = await start_service(redis, T0)
    ids = await _service(svc)
    persister = Persister(pool)
    await _drain(redis, persister)
    before = await _rows(pool, "SELECT * FROM order_lines ORDER BY order_id, id")
    first = (await redis.xrange(keys.log(R)))[2]  # the first order.placed
    await persister.handle([Entry(keys.log(R), first[0].decode(), first[1])])
    assert await _rows(pool, "SELECT * FROM order_lines ORDER BY order_id, id") == before
    status = await pool.fetchval("SELECT status FROM order_lines WHERE order_id = $1 AND "
                                 "id = 'L1'", ids["a"])
    assert status == "served"


async def test_only_the_lines_an_event_changed_get_a_new_row_version(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any]) -> None:
    """A dish started at one station rewrites that line only; its order's other lines keep
    their row version (no write for what did not change)."""
    svc = await start_service(redis, T0)
    await svc.open("A1", 2)
    a = await svc.order("A1", [("d18", 1), ("d34", 1), ("d39", 1)])
    persister = Persister(pool)
    await _drain(redis, persister)
    sql = "SELECT id, status, xmin::text AS version FROM order_lines ORDER BY id"
    before = {r["id"]: r for r in await _rows(pool, sql)}
    svc.now += 60_000
    await svc.move(a, "start", "L1")
    await _drain(redis, persister)
    after = {r["id"]: r for r in await _rows(pool, sql)}
    assert (before["L1"]["status"], after["L1"]["status"]) == ("queued", "cooking")
    assert after["L1"]["version"] != before["L1"]["version"]
    assert [after[i] for i in ("L2", "L3")] == [before[i] for i in ("L2", "L3")]


async def test_a_batch_written_twice_changes_nothing(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any]) -> None:
    """Writing the whole log a second time leaves every table exactly as it was."""
    svc = await start_service(redis, T0)
    await _service(svc)
    entries = [Entry(keys.log(R), i.decode(), f) for i, f in await redis.xrange(keys.log(R))]
    persister = Persister(pool)
    await persister.handle(entries)
    tables = ("events", "orders", "order_lines", "dish_status_changes", "table_sessions",
              "stock_changes")
    snapshot = {t: await _rows(pool, f"SELECT * FROM {t} ORDER BY 1, 2, 3") for t in tables}
    await persister.handle(entries)
    await persister.handle(list(reversed(entries)))
    assert {t: await _rows(pool, f"SELECT * FROM {t} ORDER BY 1, 2, 3") for t in tables} == (
        snapshot)


# -- real processes --------------------------------------------------------------------------


async def _place_many(svc: Service, tables: Sequence[str], per_table: int) -> list[str]:
    ids: list[str] = []
    for no in tables:
        await svc.open(no, 2)
    for n in range(per_table):
        for no in tables:
            ids.append(await svc.order(no, [("d18", 1 + n % 3), ("d34", 2), ("d39", 1),
                                             ("d04", 1), ("d20", 1)]))
    return ids


async def _at_least(pool: asyncpg.Pool[Any], n: int) -> bool:
    return await _count(pool) >= n


async def _pending(redis: aioredis.Redis) -> int:
    try:
        return int((await redis.xpending(keys.log(R), GROUP))["pending"])
    except aioredis.ResponseError:
        return 0


async def _count(pool: asyncpg.Pool[Any]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM orders"))


async def _kill_mid_batch(proc: Any, pool: asyncpg.Pool[Any], redis: aioredis.Redis,
                          consumer: str, after: int) -> None:
    """Once ``after`` orders are written, SIGKILL the worker inside one of its batch
    transactions (orders keep coming meanwhile, so it always has work).

    The test holds the ``events`` table (every batch writes it first) until the worker's
    batch waits on it, stops the worker there, lets the table go, and kills the worker once
    PostgreSQL has run the batch and waits for the COMMIT that will never come."""
    name = f"workers {consumer}"
    await until(lambda: _at_least(pool, after), limit_s=20, what=f"{after} orders written")
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            await until(lambda: _waiting_on_lock(pool, name), limit_s=20,
                        what="the worker's batch waiting for the events table")
            os.kill(proc.pid, signal.SIGSTOP)
    await until(lambda: _idle_in_transaction(pool, name), limit_s=20,
                what="the batch run, its COMMIT not sent")
    assert await _pending(redis) > 0  # read, not acknowledged: inside the batch
    os.kill(proc.pid, signal.SIGKILL)
    await asyncio.to_thread(proc.wait)
    assert await _pending(redis) > 0


async def _waiting_on_lock(pool: asyncpg.Pool[Any], name: str) -> bool:
    return bool(await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
        "AND wait_event_type = 'Lock'", name))


async def _idle_in_transaction(pool: asyncpg.Pool[Any], name: str) -> bool:
    return bool(await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
        "AND state = 'idle in transaction'", name))


async def _keep_ordering(svc: Service, placed: list[str], stop: asyncio.Event) -> None:
    """Orders at tables A1…A10, one after the other, until ``stop``."""
    for no in (f"A{n}" for n in range(1, 11)):
        await svc.open(no, 2)
    n = 0
    while not stop.is_set():
        placed.append(await svc.order(f"A{n % 10 + 1}", [("d18", 1 + n % 3), ("d34", 2),
                                                          ("d39", 1), ("d04", 1), ("d20", 1)]))
        n += 1
        await asyncio.sleep(0.001)


async def test_a_worker_killed_mid_batch_and_restarted_persists_every_order_once(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], database_url: str, redis_url: str,
        tmp_path: Path) -> None:
    """SIGKILLed twice inside a batch while orders keep coming, then restarted, persist still
    writes every order and every event exactly once (ids compared), nothing missing."""
    svc = await start_service(redis, T0)
    expected: list[str] = []
    stop = asyncio.Event()
    producer = asyncio.create_task(_keep_ordering(svc, expected, stop))
    log = tmp_path / "worker.log"
    # no linger between reads: the worker is then caught inside a batch more often
    env = worker_env(database_url, redis_url, WORKER_BATCH="25", WORKER_CONSUMER="w1",
                     WORKER_LINGER_MS="0")
    try:
        first = start_worker(env, "persist", log=log)
        try:
            await _kill_mid_batch(first, pool, redis, "w1", after=40)
        finally:
            stop_worker(first)
        partial = await _count(pool)

        # the same consumer name: it handles what it had not acknowledged first; killed again
        second = start_worker(env, "persist", log=log)
        try:
            await _kill_mid_batch(second, pool, redis, "w1", after=partial + 40)
        finally:
            stop_worker(second)
    finally:
        stop.set()
        await producer
    assert await _count(pool) < len(expected)  # the kills came in the middle of the work

    # another consumer takes over what the dead one held (XAUTOCLAIM after the visibility time)
    third = start_worker({**env, "WORKER_CONSUMER": "w2"}, "persist", log=log)
    try:
        await until(lambda: _caught_up(redis), limit_s=30, what="persist caught up")
    finally:
        stop_worker(third)
    assert third.returncode == 0  # SIGTERM: drained and exited cleanly
    persisted = [r["id"] for r in await pool.fetch("SELECT id FROM orders ORDER BY id")]
    assert sorted(persisted) == sorted(expected)
    events = [r["event_id"] for r in await pool.fetch("SELECT event_id FROM events")]
    assert sorted(events) == sorted(e.id for e in svc.events)
    lines = await pool.fetchval("SELECT count(*) FROM order_lines")
    assert lines == sum(len(o.lines) for o in (await svc.orders()).values())
    assert await redis.xlen(keys.DEAD_LETTER) == 0


async def _has_dead(redis: aioredis.Redis) -> bool:
    return bool(await redis.xlen(keys.DEAD_LETTER))


async def test_a_poison_entry_is_dead_lettered_by_the_worker_process_while_orders_flow_on(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], database_url: str,
        redis_url: str) -> None:
    """A broken entry in the log reaches k:dead after 3 deliveries with its error, group and
    consumer; every order around it is persisted."""
    svc = await start_service(redis, T0)
    expected = await _place_many(svc, ["A1", "A2"], 3)
    poison = (await redis.xadd(keys.log(R), {keys.STREAM_FIELD: b"\xc1 not msgpack"})).decode()
    expected += await _place_many(svc, ["A3"], 3)
    env = worker_env(database_url, redis_url, WORKER_CONSUMER="w1", WORKER_MAX_DELIVERIES="3",
                     WORKER_VISIBILITY_MS="200", WORKER_RECLAIM_S="0.1")
    proc = start_worker(env, "persist")
    try:
        await until(lambda: _has_dead(redis), limit_s=20, what="a dead letter")
        await until(lambda: _caught_up(redis), limit_s=20, what="persist caught up")
    finally:
        stop_worker(proc)
    [(_, dead)] = await redis.xrange(keys.DEAD_LETTER)
    assert dead[b"id"].decode() == poison
    assert (dead[b"group"], dead[b"consumer"], dead[b"deliveries"]) == (b"persist", b"w1", b"3")
    assert b"CodecError" in dead[b"error"]
    persisted = [r["id"] for r in await pool.fetch("SELECT id FROM orders")]
    assert sorted(persisted) == sorted(expected)
