"""The atomic write step against a real Redis: idempotency, guards, stock, positions."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis

from kitchen import codec, demo, keys, ordering, tables
from kitchen.errors import IllegalTransition, NotFound, SoldOut
from kitchen.events import DishSoldOut, OrderPlaced, StockChanged, TableOpened
from kitchen.store import Reads, State, Store, Tx

R = demo.RESTAURANT


@pytest.fixture
async def store(redis: Redis) -> Store:
    s = Store(redis)
    await s.install(demo.menu(), {"d08": 10})
    return s


def open_a1(state: State) -> Tx:
    tx = Tx(state)
    t = tables.open_table(state.table("A1"), 2, "sess", 1)
    tx.put_table(t)
    tx.emit(TableOpened(R, table=t))
    tx.response = {"table": t.to_dict()}
    return tx


def order_fish(n: int) -> Any:
    def decide(state: State) -> Tx:
        tx = Tx(state)
        items = ordering.parse_items([{"dish_id": "d08", "qty": 1}])
        o = ordering.new_order(state.menu, f"o{n}", "A1", "sess", state.seq + 1, items, 5)
        for dish, left in ordering.take_stock(state.stock, ordering.stock_needed(o.lines),
                                              state.menu).items():
            tx.put_stock(dish, left)
            tx.emit(StockChanged(R, dish_id=dish, remaining=left))
            if left == 0:
                tx.emit(DishSoldOut(R, dish_id=dish))
        tx.put_seq(state.seq + 1)
        tx.put_order(o)
        tx.put_table(tables.add_order(state.table("A1"), o.id))
        tx.emit(OrderPlaced(R, order=o))
        tx.response = {"order": o.id, "no": o.no}
        return tx
    return decide


async def test_a_repeated_idempotency_key_returns_the_first_answer(store: Store,
                                                                    redis: Redis) -> None:
    """The same command twice with one key changes state once and answers the same."""
    first = await store.run(R, Reads(tables=["A1"]), open_a1, "key-1")
    again = await store.run(R, Reads(tables=["A1"]), open_a1, "key-1")
    assert again.duplicate and not first.duplicate
    assert (again.response, again.pos) == (first.response, first.pos)
    assert await redis.xlen(keys.log(R)) == 1
    with pytest.raises(IllegalTransition):
        await store.run(R, Reads(tables=["A1"]), open_a1, "key-2")


async def test_concurrent_orders_never_oversell(store: Store, redis: Redis) -> None:
    """50 concurrent orders on stock 10: 10 succeed, numbered 1..10, stock ends at 0."""
    await store.run(R, Reads(tables=["A1"]), open_a1)
    reads = Reads(tables=["A1"], stock=["d08"], seq=True)
    results = await asyncio.gather(*(store.run(R, reads, order_fish(n), f"o{n}")
                                     for n in range(50)), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert len(ok) == 10
    assert all(isinstance(r, SoldOut) for r in results if isinstance(r, BaseException))
    assert sorted(r.response["no"] for r in ok) == list(range(1, 11))
    assert await redis.hget(keys.stock(R), "d08") == b"0"
    table = await store.read(R, Reads(tables=["A1"]))
    assert isinstance(table, State) and len(table.table("A1").order_ids) == 10
    log = await redis.xrange(keys.log(R))
    types = [codec.peek(fields[keys.STREAM_FIELD]).type for _, fields in log]
    assert types.count("order.placed") == 10 and types.count("dish.sold_out") == 1


async def test_positions_increase_and_snapshot_position_is_the_last(store: Store) -> None:
    """Every commit answers the position of its last event; position() reports the latest."""
    a = await store.run(R, Reads(tables=["A1"]), open_a1)
    b = await store.run(R, Reads(tables=["A1"], stock=["d08"], seq=True), order_fish(1))
    epoch, pos = await store.position(R)
    assert epoch and pos == b.pos
    assert tuple(map(int, a.pos.split("-"))) < tuple(map(int, b.pos.split("-")))


async def test_a_menu_changed_elsewhere_is_seen_at_the_next_command(redis: Redis) -> None:
    """Each process holds the menu it read and checks only the stored menu's last bytes (its
    stamp) with every command; a change made by another process is seen at once, and so is
    a menu stored without a stamp."""
    here, there = Store(redis), Store(redis)
    await here.install(demo.menu(), {})
    assert (await there.menu(R)).name_zh == demo.menu().name_zh
    tx = Tx(await here.read(R, Reads()))  # type: ignore[arg-type]
    tx.put_menu(replace(demo.menu(), name_zh="新店名", version=2))
    fetched: list[str] = []
    real_get = redis.get

    async def counted_get(key: Any) -> Any:
        fetched.append(key)
        return await real_get(key)

    redis.get = counted_get  # type: ignore[method-assign]
    try:
        state = await there.read(R, Reads(tables=["A1"]))
        assert isinstance(state, State) and state.menu.name_zh == demo.menu().name_zh
        assert fetched == []  # held and current: not fetched again

        assert await here.commit(tx) is not None
        state = await there.read(R, Reads(tables=["A1"]))
        assert isinstance(state, State) and state.menu.name_zh == "新店名"
        assert fetched == [keys.menu(R)]

        unstamped = replace(demo.menu(), name_zh="旧格式", version=3)
        await redis.set(keys.menu(R), codec.pack(unstamped.to_dict()))
        for _ in range(2):  # fetched each time, decoded once
            assert (await there.menu(R)).name_zh == "旧格式"
        assert fetched == [keys.menu(R)] * 3
    finally:
        del redis.get
    await redis.delete(keys.menu(R))
    with pytest.raises(NotFound):
        await there.menu(R)
