"""persist: the restaurants' logs into PostgreSQL, in batches, idempotently.

Every event becomes a row of ``events`` (keyed by its event id and stream position). Events that
carry an order upsert it and its lines, but only when the event stands later in the log than
the one the stored row came from, so a redelivered older event never overwrites newer state.
Status moves, table sessions and stock changes become rows keyed by the event id. A batch is
one transaction: it is written whole or not at all, and writing it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kitchen import events as ev
from kitchen.db import Queries
from kitchen.model import Order
from workers.logged import Logged, decode_all
from workers.runner import Entry

if TYPE_CHECKING:
    import asyncpg

GROUP = "persist"

Row = tuple[Any, ...]


@dataclass
class Rows:
    """Everything one batch writes (pure: built without a database)."""

    events: list[Row] = field(default_factory=list)
    orders: dict[tuple[str, str], tuple[Logged, Order]] = field(default_factory=dict)
    status_changes: list[Row] = field(default_factory=list)
    sessions: list[tuple[str, Row]] = field(default_factory=list)  # (query name, arguments)
    stock: list[Row] = field(default_factory=list)

    def order(self, item: Logged, order: Order) -> None:
        key = (item.event.restaurant_id, order.id)
        held = self.orders.get(key)
        if held is None or held[0].position < item.position:
            self.orders[key] = (item, order)


def orders_of(event: ev.Event) -> tuple[Order, ...]:
    """The whole orders an event carries (none, one, or those of a moved table)."""
    order = getattr(event, "order", None)
    if isinstance(order, Order):
        return (order,)
    if isinstance(event, ev.TableTransferred | ev.TableMerged):
        return event.orders
    return ()


def _status_rows(item: Logged) -> list[Row]:
    e = item.event
    r = e.restaurant_id
    if isinstance(e, ev.OrderPlaced | ev.LinesAdded):
        new = set(e.line_ids) if isinstance(e, ev.LinesAdded) else None
        return [(e.id, r, e.order.id, ln.id, ln.station_id, "", str(ln.status), e.ts)
                for ln in e.order.lines if new is None or ln.id in new]
    if isinstance(e, ev.DishStatusChanged):
        return [(e.id, r, e.order.id, c.line_id, c.station_id, c.prev, c.status, e.ts)
                for c in e.changes]
    if isinstance(e, ev.DishReturned):
        line = e.order.line(e.line_id)
        station = line.station_id if line else ""
        return [(e.id, r, e.order.id, e.line_id, station, e.prev, "returned", e.ts)]
    return []


def _session_ops(e: ev.Event) -> list[tuple[str, Row]]:
    r = e.restaurant_id
    if isinstance(e, ev.TableOpened):
        t = e.table
        return [("workers_open_session", (r, t.session, t.no, t.opened_at or e.ts, t.guests))]
    if isinstance(e, ev.TableCleared):
        return [("workers_close_session", (r, e.session_id, e.table.no, e.ts))]
    if isinstance(e, ev.TableTransferred):
        t = e.target
        return [("workers_close_table_sessions", (r, e.source.no, e.ts, t.session)),
                ("workers_open_session", (r, t.session, t.no, t.opened_at or e.ts, t.guests))]
    if isinstance(e, ev.TableMerged):
        t = e.target
        return [("workers_close_table_sessions", (r, e.source.no, e.ts, t.session)),
                ("workers_open_session", (r, t.session, t.no, t.opened_at or e.ts, t.guests))]
    return []


def _stock_rows(e: ev.Event) -> list[Row]:
    r = e.restaurant_id
    if isinstance(e, ev.StockChanged | ev.DishRestocked):
        return [(e.id, r, e.dish_id, e.remaining, e.ts)]
    if isinstance(e, ev.DishSoldOut):
        return [(e.id, r, e.dish_id, 0, e.ts)]
    return []


def plan(batch: Sequence[Logged]) -> Rows:
    """The rows a batch of events writes."""
    rows = Rows()
    for item in batch:
        e, env = item.event, item.envelope
        rows.events.append((e.restaurant_id, item.stream_id, e.id, e.type, e.ts, env.payload))
        for order in orders_of(e):
            rows.order(item, order)
        rows.status_changes += _status_rows(item)
        rows.sessions += _session_ops(e)
        rows.stock += _stock_rows(e)
    return rows


def order_row(item: Logged, o: Order) -> Row:
    ms, seq = item.position
    return (item.event.restaurant_id, o.id, o.table_no, o.session_id, o.no, o.created_at,
            o.rush, o.guests, o.total_fen, item.event.ts, item.event.id, ms, seq)


def line_rows(restaurant_id: str, order: Order) -> list[Row]:
    return [(restaurant_id, order.id, ln.id, ln.dish_id, ln.name_zh, ln.name_en, ln.qty,
             ln.unit_price_fen, ln.station_id, str(ln.status), ln.note, ln.course, ln.added,
             ln.set_meal_id, ln.target_s, ln.urges, ln.last_urged_at, ln.overdue,
             ln.return_requested, dict(ln.times)) for ln in order.lines]


def batch_args(rows: Rows) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    """The four JSON parameters of ``workers_persist_batch``: events, moves, orders, lines."""
    # a stable order of keys keeps concurrent consumers from deadlocking
    held = [rows.orders[k] for k in sorted(rows.orders)]
    lines = [row for item, order in held for row in line_rows(item.event.restaurant_id, order)]
    return rows.events, rows.status_changes, [order_row(i, o) for i, o in held], lines


class Persister:
    """The persist role's handler: one transaction per batch."""

    def __init__(self, pool: asyncpg.Pool[Any], queries: Queries | None = None) -> None:
        self.pool = pool
        self.q = queries or Queries.load()

    async def handle(self, entries: Sequence[Entry]) -> None:
        rows = plan(decode_all(entries))
        args = batch_args(rows)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q["workers_persist_batch"], *args)
            for name, values in rows.sessions:
                await conn.execute(self.q[name], *values)
            if rows.stock:
                await conn.executemany(self.q["workers_insert_stock_change"], rows.stock)
