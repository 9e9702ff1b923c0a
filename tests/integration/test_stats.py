"""stats: after a scripted two-day service, the dashboard queries equal figures computed
directly from the events of the log."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import redis.asyncio as aioredis

from kitchen import codec, keys
from kitchen.db import Queries
from kitchen.events import Event, OrderPlaced, TableOpened
from kitchen.model import DEAD_STATUSES, DishStatus, Order
from tests.integration.test_worker_kit import (
    R,
    Service,
    start_service,
    start_worker,
    stop_worker,
    until,
    worker_env,
)
from workers.overdue import OverdueScanner
from workers.runner import Entry
from workers.stats import GROUP, StatsRoller

pytestmark = pytest.mark.asyncio(loop_scope="session")

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
DISHES = ["d02", "d04", "d12", "d13", "d17", "d18", "d20", "d21", "d34", "d39"]
Q = Queries.load()


def _ms(local: datetime) -> int:
    return int(local.replace(tzinfo=ZONE).timestamp() * 1000)


async def _day(svc: Service, rng: random.Random, start: datetime, tables: int) -> None:
    """One service: tables seated every few minutes, orders, add-ons, kitchen moves,
    returns, voids, urges, overdue dishes, then the tables cleared."""
    svc.now = _ms(start)
    placed: list[str] = []
    scanner = OverdueScanner(svc.store.redis, svc.store)
    for n in range(tables):
        no = f"A{n + 1}"
        svc.now += rng.randint(2, 15) * 60_000
        await svc.open(no, rng.randint(1, 6))
        items = [(d, rng.randint(1, 3)) for d in rng.sample(DISHES, rng.randint(1, 4))]
        placed.append(await svc.order(no, items, note=rng.choice(["", "少辣", "不要葱"])))
        if rng.random() < 0.4:
            await svc.add(placed[-1], [(rng.choice(DISHES), 1)])
    live = await svc.orders()
    for order_id in placed:
        order = live[order_id]
        for line in order.lines:
            svc.now += rng.randint(10, 90) * 1000
            roll = rng.random()
            if roll < 0.1:
                await svc.give_back(order_id, line.id)
            elif roll < 0.15:
                await svc.move(order_id, "void", line.id)
            elif roll < 0.25:
                await svc.urge(order_id, line.id)
            elif roll < 0.3:
                continue  # still cooking at the end of the script: may turn overdue
            else:
                await svc.move(order_id, "start", line.id)
                svc.now += rng.randint(60, 1200) * 1000
                if roll < 0.4:
                    await svc.urge(order_id, line.id)
                await svc.move(order_id, "ready", line.id)
        if rng.random() < 0.3:
            await scanner.scan(R, now=svc.now)
    svc.now += 3_600_000
    await scanner.scan(R, now=svc.now)  # the dishes left in the kitchen are overdue by now
    for n in range(tables):
        await svc.clear(f"A{n + 1}")


def _local(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZONE)


def _cont(values: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    xs = sorted(values)
    pos = p * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _expected(events: list[Event]) -> dict[str, Any]:
    """Every dashboard figure, straight from the events (the last state of each order)."""
    final: dict[str, Order] = {}
    for e in events:
        order = getattr(e, "order", None)
        if isinstance(order, Order):
            final[order.id] = order
    daily: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])  # revenue, orders, covers
    peak: dict[tuple[int, int], int] = defaultdict(int)
    dishes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    times: dict[str, list[float]] = defaultdict(list)
    stations: dict[str, list[float]] = defaultdict(list)
    for e in events:
        if isinstance(e, OrderPlaced):
            local = _local(e.order.created_at)
            daily[local.date()][1] += 1
            peak[(local.isoweekday(), local.hour)] += 1
        if isinstance(e, TableOpened):
            daily[_local(e.table.opened_at).date()][2] += e.table.guests
    for o in final.values():
        for ln in o.lines:
            d = dishes[ln.dish_id]
            if ln.status not in DEAD_STATUSES:
                daily[_local(o.created_at).date()][0] += ln.qty * ln.unit_price_fen
                d[0] += ln.qty
                d[1] += ln.qty * ln.unit_price_fen
            d[2] += ln.qty if ln.status == DishStatus.RETURNED else 0
            d[3] += ln.qty if ln.status == DishStatus.VOIDED else 0
            d[4] += ln.urges
            d[5] += int(ln.overdue)
            if "ready" in ln.times:
                seconds = (ln.times["ready"] - ln.times["queued"]) / 1000
                times[ln.dish_id].append(seconds)
                stations[ln.station_id].append(seconds)
    return {"daily": daily, "peak": peak, "dishes": dishes, "times": times,
            "stations": stations}


async def _caught_up(redis: aioredis.Redis) -> bool:
    for g in await redis.xinfo_groups(keys.log(R)):
        if g["name"] == GROUP.encode():
            return int(g["lag"] or 0) == 0 and int(g["pending"]) == 0
    return False


async def _figures(pool: asyncpg.Pool[Any], since: datetime, until_: datetime
                   ) -> dict[str, Any]:
    args = (R, since, until_)
    return {
        "daily": {r["day"]: [r["revenue_fen"], r["orders"], r["covers"]]
                  for r in await pool.fetch(Q["stats_revenue_daily"], *args, TZ)},
        "peak": {(r["weekday"], r["hour"]): r["orders"]
                 for r in await pool.fetch(Q["stats_peak_hours"], *args, TZ)},
        "dishes": {r["dish_id"]: [r["qty"], r["revenue_fen"], r["returns"], r["voids"],
                                  r["urges"], r["overdue"]]
                   for r in await pool.fetch(Q["stats_dish_ranking"], *args, 100)},
        "times": {r["dish_id"]: (r["samples"], r["p50_s"], r["p90_s"])
                  for r in await pool.fetch(Q["stats_kitchen_times"], *args)},
        "stations": {r["station_id"]: (r["samples"], r["p50_s"], r["p90_s"])
                     for r in await pool.fetch(Q["stats_station_times"], *args)},
        "monthly": [dict(r) for r in await pool.fetch(Q["stats_revenue_monthly"], *args, TZ)],
        "summary": dict(await pool.fetchrow(Q["stats_summary"], *args)),
        "hourly": [dict(r) for r in await pool.fetch(Q["stats_revenue_hourly"], *args, TZ)],
        "problems": [r["dish_id"] for r in await pool.fetch(Q["stats_returns_urges"], *args)],
    }


async def test_stats_after_a_scripted_service_equal_the_figures_of_the_events(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], database_url: str, redis_url: str,
        tmp_path: Path) -> None:
    """Revenue, orders, covers by day and month, peak hours by weekday, dish ranking with
    returns / voids / urges / overdue, and p50 / p90 kitchen times per dish and station, as
    computed by the stats worker process, equal a direct count over the log's events; counting
    the whole log again changes nothing."""
    rng = random.Random(20240305)
    tuesday = datetime(2024, 3, 5, 11, 0)
    svc = await start_service(redis, _ms(tuesday), pool=pool)
    await _day(svc, rng, tuesday, 8)
    await _day(svc, rng, tuesday + timedelta(days=1, hours=6), 6)
    raw = await redis.xrange(keys.log(R))
    events = [codec.decode(f[keys.STREAM_FIELD]) for _, f in raw]

    proc = start_worker(worker_env(database_url, redis_url, WORKER_CONSUMER="s1"), "stats",
                        log=tmp_path / "stats.log")
    try:
        await until(lambda: _caught_up(redis), limit_s=20, what="stats caught up")
    finally:
        stop_worker(proc)

    since = tuesday.replace(tzinfo=ZONE) - timedelta(days=1)
    got = await _figures(pool, since, since + timedelta(days=5))
    want = _expected(events)
    assert got["daily"] == {d: v for d, v in want["daily"].items()}
    assert sum(v[1] for v in got["daily"].values()) == 14
    assert got["peak"] == dict(want["peak"])
    assert got["dishes"] == {k: v for k, v in want["dishes"].items()}
    assert {d for d, v in want["dishes"].items() if v[2] or v[3] or v[4] or v[5]} == set(
        got["problems"])
    for key in ("times", "stations"):
        assert set(got[key]) == set(want[key])
        for name, values in want[key].items():
            samples, p50, p90 = got[key][name]
            assert samples == len(values)
            assert p50 == pytest.approx(_cont(values, 0.5))
            assert p90 == pytest.approx(_cont(values, 0.9))
    [month] = got["monthly"]
    assert month["month"] == date(2024, 3, 1)
    assert month["revenue_fen"] == sum(v[0] for v in want["daily"].values())
    assert got["summary"]["orders"] == 14
    assert sum(h["revenue_fen"] for h in got["hourly"]) == month["revenue_fen"]
    assert all(h["hour"].minute == 0 for h in got["hourly"])

    # the same events delivered again (a crash before the ack) are not counted twice
    await StatsRoller(pool).handle([Entry(keys.log(R), i.decode(), f) for i, f in raw])
    assert await _figures(pool, since, since + timedelta(days=5)) == got


async def test_peak_hours_average_over_the_days_the_restaurant_sold(
        pool: asyncpg.Pool[Any]) -> None:
    """Four Mondays with a lunch of 20 orders; one of them also a banquet of 15 orders at
    15:00. The days behind each hour are the four Mondays, so 15:00 averages 3.75 orders,
    not the 15 of the only Monday that had it."""
    tz = ZoneInfo(TZ)
    mondays = [date(2026, 11, 2) + timedelta(weeks=n) for n in range(4)]
    rows = [(datetime.combine(d, datetime.min.time(), tz) + timedelta(hours=12), 20)
            for d in mondays]
    rows.append((datetime.combine(mondays[1], datetime.min.time(), tz) + timedelta(hours=15),
                 15))
    await pool.executemany("INSERT INTO stats_hourly (restaurant_id, hour, revenue_fen, "
                           "orders, covers, dishes) VALUES ($1, $2, 0, $3, 0, 0)",
                           [(R, hour, n) for hour, n in rows])
    since = datetime.combine(mondays[0], datetime.min.time(), tz)
    got = {(r["weekday"], r["hour"]): (r["orders"], r["days"])
           for r in await pool.fetch(Q["stats_peak_hours"], R, since,
                                     since + timedelta(days=28), TZ)}
    assert got == {(1, 12): (80, 4), (1, 15): (15, 4)}
