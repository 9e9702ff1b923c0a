"""The open-order index (``k:{R}:open``): the screens' snapshots and the overdue scan read the
orders still in the kitchen or at the pass, not every order of the day."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from kitchen import keys
from tests.integration.test_worker_kit import R, Service, start_service
from workers.overdue import OverdueScanner

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = 1_700_000_000_000


async def _index(redis: aioredis.Redis) -> dict[str, int]:
    raw = await redis.hgetall(keys.open_orders(R))
    return {k.decode(): int(v) for k, v in raw.items() if k.decode() != keys.OPEN_MARK}


async def _serve_all(svc: Service, order_id: str) -> None:
    lines = (await svc.orders())[order_id].lines
    cooking = tuple(ln.id for ln in lines if ln.status != "ready")
    if cooking:
        await svc.move(order_id, "ready", *cooking)
    await svc.move(order_id, "serve", *(ln.id for ln in lines))


async def test_the_index_follows_each_order_until_nothing_is_left_to_serve(
        redis: aioredis.Redis) -> None:
    svc = await start_service(redis, T0)
    await svc.open("A1", 2)
    first = await svc.order("A1", [("d18", 1), ("d39", 1)])  # targets 420 s and 60 s
    # due when the quicker dish passes its target
    assert await _index(redis) == {first: T0 + 60_000 + 1}
    svc.now += 10_000
    await svc.move(first, "ready", "L2")
    assert await _index(redis) == {first: T0 + 420_000 + 1}
    await svc.move(first, "ready", "L1")
    assert await _index(redis) == {first: 0}  # open (at the pass), nothing left to cook
    second = await svc.order("A1", [("d20", 1)])
    await _serve_all(svc, first)
    assert set(await _index(redis)) == {second}
    assert [o.id for o in await svc.store.open_orders(R)] == [second]
    assert len(await svc.orders()) == 2  # the day still has both


async def test_state_from_before_the_index_is_indexed_on_first_read(
        redis: aioredis.Redis) -> None:
    """Orders written before the index existed (the index key missing): the first read finds
    the open ones from the whole day and marks the index complete."""
    svc = await start_service(redis, T0)
    await svc.open("A1", 4)
    done = await svc.order("A1", [("d39", 1)])
    await _serve_all(svc, done)
    waiting = await svc.order("A1", [("d18", 2)])
    await redis.delete(keys.open_orders(R))
    assert [o.id for o in await svc.store.open_orders(R)] == [waiting]
    assert await redis.hexists(keys.open_orders(R), keys.OPEN_MARK)
    assert set(await _index(redis)) == {waiting}


async def test_the_scan_flags_due_orders_among_a_day_of_served_ones(
        redis: aioredis.Redis) -> None:
    svc = await start_service(redis, T0)
    await svc.open("A1", 4)
    for _ in range(30):
        await _serve_all(svc, await svc.order("A1", [("d39", 1)]))
    late = await svc.order("A1", [("d18", 1), ("d39", 1)])
    await svc.store.open_orders(R)  # marks the index complete
    scanner = OverdueScanner(redis, svc.store)
    assert await scanner.scan_all(now=T0 + 30_000) == 0
    assert await scanner.scan_all(now=T0 + 61_000) == 1  # d39 only
    assert await _index(redis) == {late: T0 + 420_000 + 1}
    assert await scanner.scan_all(now=T0 + 421_000) == 1
    assert await _index(redis) == {late: 0}  # both flagged: nothing more will turn overdue
    flags = [ln.overdue for ln in (await svc.orders())[late].lines]
    assert flags == [True, True]


async def test_a_stale_entry_is_corrected_by_the_scan(redis: aioredis.Redis) -> None:
    """An entry left for an order closed meanwhile (the first read racing a commit) costs
    one read: the scan rewrites the order's entry, which drops it."""
    svc = await start_service(redis, T0)
    await svc.open("A1", 2)
    served = await svc.order("A1", [("d39", 1)])
    await _serve_all(svc, served)
    await svc.store.open_orders(R)
    await redis.hset(keys.open_orders(R), served, str(T0 + 1))
    await redis.hset(keys.open_orders(R), "gone", str(T0 + 1))  # an order no longer there
    assert await OverdueScanner(redis, svc.store).scan_all(now=T0 + 10_000) == 0
    assert await _index(redis) == {}
