"""What the persist worker costs per event: one statement per batch, its rows sent as JSON
(``workers_persist_batch``, what :class:`workers.persist.Persister` runs), against the same
events, moves and lines written row by row with ``executemany`` (one statement per row, the
batch's orders in one: the baseline), in the same run.

    python -m benchmarks.persist_batch [--restaurants 200] [--orders 10] [--batch 50] [--rounds 4]

An embedded PostgreSQL (fsync on, as shipped) in a temporary folder. A lunch is built in
memory through the kitchen's own rules: each order of four dishes is placed, each station
starts and readies its dishes, the pass serves them; one order in five gets a dish added and
one in ten an urge. Every event is encoded as the log holds it, the logs of all restaurants
interleaved by time and cut into batches as a worker reads them. In alternating rounds each
way writes the whole lunch into empty tables; the figures are medians per 1,000 events of the
worker's CPU (decoding included), PostgreSQL's CPU (every backend) and the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from kitchen import codec, demo, dishflow, keys, ordering
from kitchen.db import create_pool, migrate
from kitchen.embedded import EmbeddedPostgres
from kitchen.events import DishStatusChanged, DishUrged, Event, LinesAdded, OrderPlaced
from loadtests.cpu import children, cpu_seconds
from workers import logged
from workers.logged import decode_all
from workers.persist import Persister, Row, line_rows, order_row, plan
from workers.runner import Entry

T0 = 1_700_000_000_000
DISHES = ("d18", "d20", "d08", "d39")  # wok, wok, steam, bar
TABLES = ("events", "orders", "order_lines", "dish_status_changes")

# the baseline: the same rows, one statement each (the orders of a batch in one, as before)
INSERT_EVENT = """INSERT INTO events (restaurant_id, stream_id, event_id, type, ts, payload)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"""
INSERT_MOVE = """INSERT INTO dish_status_changes (event_id, restaurant_id, order_id, line_id,
    station_id, from_status, to_status, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING"""
UPSERT_ORDERS = """INSERT INTO orders AS o (restaurant_id, id, table_no, session_id, no,
    created_at, rush, guests, total_fen, updated_at, last_event_id, last_pos_ms, last_pos_seq)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[],
                     $7::boolean[], $8::int[], $9::int[], $10::bigint[], $11::text[],
                     $12::bigint[], $13::bigint[])
ON CONFLICT (restaurant_id, id) DO UPDATE
SET table_no = EXCLUDED.table_no, session_id = EXCLUDED.session_id, no = EXCLUDED.no,
    created_at = EXCLUDED.created_at, rush = EXCLUDED.rush, guests = EXCLUDED.guests,
    total_fen = EXCLUDED.total_fen, updated_at = EXCLUDED.updated_at,
    last_event_id = EXCLUDED.last_event_id, last_pos_ms = EXCLUDED.last_pos_ms,
    last_pos_seq = EXCLUDED.last_pos_seq
WHERE (o.last_pos_ms, o.last_pos_seq) < (EXCLUDED.last_pos_ms, EXCLUDED.last_pos_seq)
RETURNING o.restaurant_id, o.id"""
UPSERT_LINE = """INSERT INTO order_lines (restaurant_id, order_id, id, dish_id, name_zh, name_en,
    qty, unit_price_fen, station_id, status, note, course, added, set_meal_id, target_s, urges,
    last_urged_at, overdue, return_requested, times)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20)
ON CONFLICT (restaurant_id, order_id, id) DO UPDATE
SET dish_id = EXCLUDED.dish_id, name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
    qty = EXCLUDED.qty, unit_price_fen = EXCLUDED.unit_price_fen,
    station_id = EXCLUDED.station_id, status = EXCLUDED.status, note = EXCLUDED.note,
    course = EXCLUDED.course, added = EXCLUDED.added, set_meal_id = EXCLUDED.set_meal_id,
    target_s = EXCLUDED.target_s, urges = EXCLUDED.urges,
    last_urged_at = EXCLUDED.last_urged_at, overdue = EXCLUDED.overdue,
    return_requested = EXCLUDED.return_requested, times = EXCLUDED.times"""


def columns(rows: Sequence[Row], width: int) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for col, value in zip(cols, row, strict=True):
            col.append(value)
    return cols


class RowByRow(Persister):
    """The baseline: every event, move and line its own statement (``executemany``), the
    batch's orders in one, then the lines of the orders written."""

    async def handle(self, entries: Sequence[Entry]) -> None:
        rows = plan(decode_all(entries))
        held = [rows.orders[k] for k in sorted(rows.orders)]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(INSERT_EVENT, rows.events)
            if rows.status_changes:
                await conn.executemany(INSERT_MOVE, rows.status_changes)
            written = await conn.fetch(
                UPSERT_ORDERS, *columns([order_row(item, order) for item, order in held], 13))
            won = {(row["restaurant_id"], row["id"]) for row in written}
            lines = [line for item, order in held
                     if (item.event.restaurant_id, order.id) in won
                     for line in line_rows(item.event.restaurant_id, order)]
            if lines:
                await conn.executemany(UPSERT_LINE, lines)


def _order_life(rid: str, menu: Any, n: int, start: int) -> list[Event]:
    """One order's events: placed, each station starts and readies, the pass serves."""
    items = tuple(ordering.Item(qty=1, dish_id=d) for d in DISHES)
    o = ordering.new_order(menu, f"o{n}", f"A{n % 20 + 1}", f"s{n}", n + 1, items, start)
    out: list[Event] = [OrderPlaced(rid, order=o, ts=start)]
    now = start
    if n % 5 == 0:
        now += 20_000
        o, ids = ordering.add_lines(menu, o, (ordering.Item(qty=1, dish_id="d34"),), now)
        out.append(LinesAdded(rid, order=o, line_ids=ids, ts=now))
    if n % 10 == 0:
        now += 20_000
        o = dishflow.urge(o, o.lines[0].id, now)
        out.append(DishUrged(rid, order=o, line_id=o.lines[0].id, ts=now))
    by_station: dict[str, list[str]] = {}
    for ln in o.lines:
        by_station.setdefault(ln.station_id, []).append(ln.id)
    for action in ("start", "ready"):
        for ids in by_station.values():
            now += 30_000
            o, changes = dishflow.move(o, action, tuple(ids), now)
            out.append(DishStatusChanged(rid, order=o, action=action, changes=changes, ts=now))
    now += 30_000
    o, changes = dishflow.move(o, "serve", tuple(ln.id for ln in o.lines), now)
    out.append(DishStatusChanged(rid, order=o, action="serve", changes=changes, ts=now))
    return out


def lunch(restaurants: int, orders: int) -> list[Entry]:
    """Every restaurant's log as entries, interleaved by time as a worker reads them."""
    timed: list[tuple[int, int, str, Event]] = []
    for r in range(restaurants):
        rid = f"bench{r:04d}"
        menu = demo.menu(rid, now_ms=T0)
        for n in range(orders):
            start = T0 + n * 45_000 + r * 97
            timed += [(e.ts, len(timed), rid, e) for e in _order_life(rid, menu, n, start)]
    timed.sort()
    seq: dict[str, int] = {}
    entries: list[Entry] = []
    for ts, _, rid, event in timed:
        seq[rid] = seq.get(rid, 0) + 1
        entries.append(Entry(keys.log(rid), f"{ts}-{seq[rid]}",
                             {keys.STREAM_FIELD: codec.encode(event)}))
    return entries


def _pg_cpu(pg: EmbeddedPostgres) -> float:
    root = pg.process.pid
    return sum(cpu_seconds(pid) for pid in (root, *children(root)))


async def _write(pool: asyncpg.Pool[Any], persister: Persister, batches: list[list[Entry]],
                 pg: EmbeddedPostgres) -> tuple[float, float, float]:
    """(worker CPU s, PostgreSQL CPU s, wall s) for the whole lunch into empty tables."""
    await pool.execute(f"TRUNCATE {', '.join(TABLES)}")
    await pool.execute("CHECKPOINT")
    logged._RECENT.items.clear()  # decode every event, as a worker meeting it the first time
    cpu0, pg0, t0 = time.process_time(), _pg_cpu(pg), time.perf_counter()
    for batch in batches:
        await persister.handle(batch)
    return time.process_time() - cpu0, _pg_cpu(pg) - pg0, time.perf_counter() - t0


async def _run(url: str, pg: EmbeddedPostgres, args: argparse.Namespace) -> None:
    entries = lunch(args.restaurants, args.orders)
    batches = [entries[i:i + args.batch] for i in range(0, len(entries), args.batch)]
    n = len(entries)
    print(f"{args.restaurants} restaurants x {args.orders} orders: {n} events in "
          f"{len(batches)} batches of {args.batch}; medians of {args.rounds} alternating rounds")
    pool = await create_pool(url, min_size=1, max_size=2)
    ways: dict[str, Persister] = {"one statement": Persister(pool), "row by row": RowByRow(pool)}
    got: dict[str, list[tuple[float, float, float]]] = {w: [] for w in ways}
    counts: dict[str, tuple[int, ...]] = {}
    try:
        for r in range(args.rounds):
            for way in (list(ways) if r % 2 == 0 else list(reversed(ways))):
                got[way].append(await _write(pool, ways[way], batches, pg))
                counts[way] = tuple([await pool.fetchval(f"SELECT count(*) FROM {t}")
                                     for t in TABLES])
        if len(set(counts.values())) != 1:
            raise SystemExit(f"the two ways wrote different rows: {counts}")
    finally:
        await pool.close()
    print(f"rows written ({', '.join(TABLES)}): {counts['one statement']}")
    print("| way | worker CPU ms / 1,000 events | PostgreSQL CPU ms / 1,000 events | "
          "wall ms / 1,000 events |")
    print("|---|---|---|---|")
    for way, runs in got.items():
        med = [statistics.median(x[i] for x in runs) * 1e6 / n for i in range(3)]
        print(f"| {way} | {med[0]:.0f} | {med[1]:.0f} | {med[2]:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restaurants", type=int, default=200)
    parser.add_argument("--orders", type=int, default=10, help="orders per restaurant")
    parser.add_argument("--batch", type=int, default=50, help="events per batch")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    pg = EmbeddedPostgres()  # a temporary folder of its own, removed at the stop
    pg.start()
    try:
        asyncio.run(migrate(pg.url))
        asyncio.run(_run(pg.url, pg, args))
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
