"""rebuild: a restaurant's live state in Redis, from PostgreSQL (after Redis lost its data).

``python -m workers rebuild RESTAURANT`` writes, in one MULTI/EXEC:

- the menu (``k:{R}:menu``) from the menu tables;
- stock counts (``k:{R}:stock``): the last persisted count of each dish, else the configured one;
- tables (``k:{R}:tables``): the last state a table event carried in the last two days, with
  the orders placed at the table since (a table not seen is free);
- today's orders (``k:{R}:orders``): orders placed since local midnight, and every order of a
  table still seated, with their lines as last persisted;
- the ticket counter (``k:{R}:seq``): the highest ticket number of today;
- revoked tokens (``k:{R}:revoked``);
- a new epoch (``k:{R}:epoch``): screens see the log changed identity and reload a snapshot.

The log stream itself is left as it is. PostgreSQL holds what the persist worker wrote: run
the rebuild once persist has caught up (the summary warns when its group still has entries).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from kitchen import codec, keys
from kitchen.catalog import load_menu
from kitchen.db import Queries
from kitchen.events import now_ms
from kitchen.model import Line, Order, TableState, TableStatus
from kitchen.store import open_entry, pack_menu
from workers import persist

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Summary:
    restaurant_id: str
    epoch: str
    tables_seated: int
    orders: int
    seq: int
    stock: int
    warning: str = ""

    def describe(self) -> str:
        text = (f"rebuilt {self.restaurant_id}: epoch {self.epoch}, {self.tables_seated} tables "
                f"seated, {self.orders} orders today (last ticket #{self.seq}), "
                f"{self.stock} stock counts")
        return text + (f"\nwarning: {self.warning}" if self.warning else "")


def midnight_ms(now: int, tz: str) -> int:
    """Start of the local day of ``now`` in ``tz``, in ms."""
    local = datetime.fromtimestamp(now / 1000, ZoneInfo(tz))
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def service_day_ms(now: int, tz: str, close_at: str) -> int:
    """Where the live state's day began at ``now``: local midnight once the day close
    (``close_at``, "HH:MM") has passed today; before it, the previous close, since until then
    the live state still holds last evening's orders and their ticket numbers go on."""
    local = datetime.fromtimestamp(now / 1000, ZoneInfo(tz))
    hour, minute = (int(part) for part in close_at.split(":"))
    close = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if local >= close:
        return midnight_ms(now, tz)
    return int((close - timedelta(days=1)).timestamp() * 1000)


def _line(row: Any) -> Line:
    data = dict(row)
    data.pop("order_id", None)
    return Line.from_dict(data)


def seated(table: TableState, orders: list[Order]) -> TableState:
    """``table`` with the orders placed under its session after its state was recorded (an
    order carries no table state): a table that had none is ordering, and so is a table that
    asked for its bill and then ordered or added dishes (加菜)."""
    if table.status == TableStatus.FREE:
        return table
    ids = list(table.order_ids)
    ids += [o.id for o in orders if o.session_id == table.session and o.id not in ids]
    status = table.status
    if ids and status == TableStatus.OPEN:
        status = TableStatus.ORDERING
    elif status == TableStatus.PAYING and any(
            _ordered_since(o, table.bill_requested_at) for o in orders if o.id in ids):
        status = TableStatus.ORDERING
    return replace(table, order_ids=tuple(ids), status=status)


def _ordered_since(order: Order, moment: int) -> bool:
    """The order was placed, or dishes were added to it, after ``moment`` (ms)."""
    return order.created_at > moment or any(
        ln.added and min(ln.times.values(), default=0) > moment for ln in order.lines)


async def _orders(conn: Any, q: Queries, rid: str, since: int, sessions: list[str],
                  ids: list[str]) -> list[Order]:
    heads = await conn.fetch(q["workers_rebuild_orders"], rid, since, sessions, ids)
    lines: dict[str, list[Line]] = {}
    for row in await conn.fetch(q["workers_rebuild_lines"], rid, [h["id"] for h in heads]):
        lines.setdefault(row["order_id"], []).append(_line(row))
    return [Order(id=h["id"], restaurant_id=rid, table_no=h["table_no"],
                  session_id=h["session_id"], no=h["no"], created_at=h["created_at"],
                  lines=tuple(lines.get(h["id"], ())), rush=h["rush"], guests=h["guests"])
            for h in heads]


async def _persist_backlog(redis: aioredis.Redis, rid: str) -> str:
    try:
        groups = await redis.xinfo_groups(keys.log(rid))
    except ResponseError:
        return ""  # no log at all: nothing is waiting
    for g in groups:
        name = g.get("name")
        if (name.decode() if isinstance(name, bytes) else name) == persist.GROUP:
            waiting = int(g.get("lag") or 0) + int(g.get("pending") or 0)
            if waiting:
                return (f"{waiting} entries of the log were not persisted yet; run the rebuild "
                        "again once the persist worker has caught up")
    return ""


async def rebuild(pool: asyncpg.Pool[Any], redis: aioredis.Redis, restaurant_id: str,
                  tz: str = "Asia/Shanghai", now: int | None = None,
                  close_at: str = "04:00") -> Summary:
    """Rewrite the live state of ``restaurant_id`` from PostgreSQL (NotFound if unknown)."""
    at = now_ms() if now is None else now
    q = Queries.load()
    rid = restaurant_id
    async with pool.acquire() as conn:
        menu, configured = await load_menu(conn, rid)
        rows = await conn.fetch(q["workers_rebuild_tables"], rid, at - 2 * DAY_MS)
        recorded = {r["no"]: TableState.from_dict(r["state"]) for r in rows}
        open_tables = [t for t in recorded.values() if t.status != TableStatus.FREE]
        today = service_day_ms(at, tz, close_at)
        orders = await _orders(conn, q, rid, today, [t.session for t in open_tables],
                               [i for t in open_tables for i in t.order_ids])
        stock = {**configured, **{r["dish_id"]: r["remaining"]
                                  for r in await conn.fetch(q["workers_rebuild_stock"], rid)
                                  if menu.dish(r["dish_id"]) is not None}}
        revoked = [r["id"] for r in await conn.fetch(q["workers_rebuild_revoked"], rid)]
    tables = {no: seated(recorded.get(no, TableState(no)), orders)
              for no in (*menu.tables, *recorded)}
    seq = max((o.no for o in orders if o.created_at >= today), default=0)
    epoch = uuid.uuid4().hex[:12]
    counts = {d: n for d, n in stock.items() if n is not None}

    pipe = redis.pipeline(transaction=True)
    pipe.set(keys.menu(rid), pack_menu(menu))
    pipe.delete(keys.stock(rid), keys.tables(rid), keys.orders(rid), keys.open_orders(rid),
                keys.revoked(rid))
    if counts:
        pipe.hset(keys.stock(rid), mapping={d: str(n) for d, n in counts.items()})
    if tables:
        pipe.hset(keys.tables(rid),
                  mapping={no: codec.pack(t.to_dict()) for no, t in tables.items()})
    if orders:
        pipe.hset(keys.orders(rid), mapping={o.id: codec.pack(o.to_dict()) for o in orders})
    index = [(o.id, entry) for o in orders if (entry := open_entry(o)) is not None]
    index.append((keys.OPEN_MARK, b"1"))  # complete: every open order is in it
    pipe.hset(keys.open_orders(rid), mapping={oid: entry for oid, entry in index})
    pipe.set(keys.seq(rid), str(seq))
    if revoked:
        pipe.sadd(keys.revoked(rid), *revoked)
    pipe.set(keys.epoch(rid), epoch)
    await pipe.execute()
    await redis.sadd(keys.RESTAURANTS, rid)
    return Summary(rid, epoch, sum(t.status != TableStatus.FREE for t in tables.values()),
                   len(orders), seq, len(counts), await _persist_backlog(redis, rid))
