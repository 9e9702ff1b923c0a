"""What the worker tests share: a scripted service written through the real store, worker
processes, and waiting. (Its own test checks that a scripted service makes a sane log.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from kitchen import codec, demo, dishflow, keys, ordering, tables
from kitchen.catalog import save_menu
from kitchen.events import (
    BillRequested,
    DishReturned,
    DishStatusChanged,
    DishUrged,
    Event,
    LinesAdded,
    OrderPlaced,
    StockChanged,
    TableCleared,
    TableOpened,
)
from kitchen.model import Menu, Order
from kitchen.store import Reads, State, Store, Tx

ROOT = Path(__file__).resolve().parents[2]
R = demo.RESTAURANT
HOUR = 3_600_000


async def until(check: Callable[[], Any], limit_s: float = 10.0, what: str = "") -> None:
    """Wait until ``check()`` (or its awaited result) is true; fail after ``limit_s``."""
    try:
        async with asyncio.timeout(limit_s):
            while True:
                result = check()
                if isinstance(result, Awaitable):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not reached within {limit_s}s: {what or check}") from None


@dataclass
class Service:
    """A restaurant's service driven through :class:`Store` and the pure rules, with a clock
    the script sets (``now``, ms). ``events`` is every event committed, in log order."""

    store: Store
    menu: Menu
    now: int
    events: list[Event] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)
    table_of: dict[str, str] = field(default_factory=dict)  # order id → table
    counter: int = 0

    @property
    def r(self) -> str:
        return self.menu.restaurant_id

    async def _run(self, reads: Reads, decide: Callable[[State, Tx], None]) -> None:
        def step(state: State) -> Tx:
            tx = Tx(state)
            decide(state, tx)
            return tx

        done = await self.store.run(self.r, reads, step)
        self.events += done.events

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    async def open(self, table_no: str, guests: int) -> None:
        session = self._id("s")
        self.sessions[table_no] = session

        def decide(state: State, tx: Tx) -> None:
            t = tables.open_table(state.table(table_no), guests, session, self.now)
            tx.put_table(t)
            tx.emit(TableOpened(self.r, table=t, ts=self.now))

        await self._run(Reads(tables=[table_no]), decide)

    async def order(self, table_no: str, items: list[tuple[str, int]], note: str = "") -> str:
        order_id = self._id("o")

        def decide(state: State, tx: Tx) -> None:
            parsed = tuple(ordering.Item(qty=q, dish_id=d, note=note) for d, q in items)
            o = ordering.new_order(state.menu, order_id, table_no, self.sessions[table_no],
                                   state.seq + 1, parsed, self.now)
            left = ordering.take_stock(state.stock, ordering.stock_needed(o.lines), state.menu)
            for dish, n in left.items():
                tx.put_stock(dish, n)
                tx.emit(StockChanged(self.r, dish_id=dish, remaining=n, ts=self.now))
            tx.put_seq(state.seq + 1)
            tx.put_order(o)
            tx.put_table(tables.add_order(state.table(table_no), o.id))
            tx.emit(OrderPlaced(self.r, order=o, ts=self.now))

        stock = sorted({d for d, _ in items})
        await self._run(Reads(tables=[table_no], stock=stock, seq=True), decide)
        self.table_of[order_id] = table_no
        return order_id

    async def add(self, order_id: str, items: list[tuple[str, int]]) -> tuple[str, ...]:
        added: list[str] = []

        def decide(state: State, tx: Tx) -> None:
            parsed = tuple(ordering.Item(qty=q, dish_id=d) for d, q in items)
            o, ids = ordering.add_lines(state.menu, state.order(order_id), parsed, self.now)
            table = state.table(self.table_of[order_id])
            if (ordering_again := tables.add_lines(table, order_id)) != table:
                tx.put_table(ordering_again)
            added[:] = ids
            tx.put_order(o)
            tx.emit(LinesAdded(self.r, order=o, line_ids=ids, ts=self.now))

        await self._run(Reads(orders=[order_id], tables=[self.table_of[order_id]]), decide)
        return tuple(added)

    async def bill(self, table_no: str) -> None:
        def decide(state: State, tx: Tx) -> None:
            t = tables.request_bill(state.table(table_no), self.now)
            tx.put_table(t)
            tx.emit(BillRequested(self.r, table=t, total_fen=0, ts=self.now))

        await self._run(Reads(tables=[table_no]), decide)

    async def move(self, order_id: str, action: str, *line_ids: str) -> None:
        def decide(state: State, tx: Tx) -> None:
            o, changes = dishflow.move(state.order(order_id), action, line_ids, self.now)
            tx.put_order(o)
            tx.emit(DishStatusChanged(self.r, order=o, action=action, changes=changes,
                                      ts=self.now))

        await self._run(Reads(orders=[order_id]), decide)

    async def urge(self, order_id: str, line_id: str) -> None:
        def decide(state: State, tx: Tx) -> None:
            o = dishflow.urge(state.order(order_id), line_id, self.now)
            tx.put_order(o)
            tx.emit(DishUrged(self.r, order=o, line_id=line_id, ts=self.now))

        await self._run(Reads(orders=[order_id]), decide)

    async def give_back(self, order_id: str, line_id: str) -> None:
        """退菜 of a queued dish (granted at once)."""
        def decide(state: State, tx: Tx) -> None:
            before = state.order(order_id)
            prev = before.line(line_id)
            o, granted = dishflow.request_return(before, line_id, self.now)
            assert granted and prev is not None
            tx.put_order(o)
            tx.emit(DishReturned(self.r, order=o, line_id=line_id, prev=str(prev.status),
                                 ts=self.now))

        await self._run(Reads(orders=[order_id]), decide)

    async def clear(self, table_no: str) -> None:
        def decide(state: State, tx: Tx) -> None:
            t = state.table(table_no)
            t = tables.request_bill(t, self.now) if t.order_ids else t
            tx.put_table(tables.clear(t))
            tx.emit(TableCleared(self.r, table=tables.clear(t), session_id=t.session,
                                 ts=self.now))

        await self._run(Reads(tables=[table_no]), decide)

    async def orders(self) -> dict[str, Order]:
        return {o.id: o for o in await self.store.orders(self.r)}


async def start_service(redis: aioredis.Redis, now: int, menu: Menu | None = None,
                        stock: Mapping[str, int] | None = None,
                        pool: asyncpg.Pool[Any] | None = None) -> Service:
    """Make the demo restaurant live (and save its menu in PostgreSQL when given a pool)."""
    menu = menu or demo.menu(now_ms=now)
    store = Store(redis)
    await store.install(menu, dict(stock or {}))
    if pool is not None:
        async with pool.acquire() as conn:
            await save_menu(conn, menu, dict(stock or {}))
    return Service(store, menu, now)


def worker_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "PRINTER_"))}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, KITCHEN_DEV="1",
               PYTHONPATH=str(ROOT), WORKER_METRICS_PORT="0", WORKER_BLOCK_MS="100",
               WORKER_DISCOVER_S="0.2", WORKER_RECLAIM_S="0.2", WORKER_VISIBILITY_MS="500")
    env.update(extra)
    return env


def start_worker(env: dict[str, str], *args: str, log: Path | None = None
                 ) -> subprocess.Popen[bytes]:
    """``python -m workers ARGS`` as a child process (output to ``log`` if given)."""
    if log is None:
        return subprocess.Popen([sys.executable, "-m", "workers", *args], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "workers", *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_a_scripted_service_logs_every_event_in_order(redis: aioredis.Redis) -> None:
    """The script's events are exactly the entries of the restaurant's log, in order."""
    svc = await start_service(redis, now=1_700_000_000_000)
    await svc.open("A1", 2)
    o = await svc.order("A1", [("d18", 2), ("d34", 1)])
    await svc.move(o, "start", "L1")
    logged = [codec.decode(f[keys.STREAM_FIELD]) for _, f in await redis.xrange(keys.log(R))]
    assert [e.id for e in logged] == [e.id for e in svc.events]
    assert [e.type for e in logged] == ["table.opened", "order.placed", "dish.status_changed"]
