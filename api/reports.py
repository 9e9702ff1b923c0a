"""What a merchant looks back on: the orders of a day and the statistics of a period.

Orders come from PostgreSQL (written by the persist worker); for today the live orders in
Redis are merged in (they may be newer than what the worker has written yet). Statistics run
the stats worker's named queries (``kitchen/sql/queries/stats.sql``) over a range of days in
the restaurant's time zone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api import body
from api.context import Call
from kitchen.errors import InvalidInput, NotFound
from kitchen.model import Line

MAX_DAYS = 400
MAX_RANKING = 100
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)  # what a report may ask for
# report name → (query, takes tz, takes a row limit)
REPORTS: dict[str, tuple[str, bool, bool]] = {
    "summary": ("stats_summary", False, False),
    "revenue_hourly": ("stats_revenue_hourly", True, False),
    "revenue_daily": ("stats_revenue_daily", True, False),
    "revenue_monthly": ("stats_revenue_monthly", True, False),
    "peak_hours": ("stats_peak_hours", True, False),
    "dish_ranking": ("stats_dish_ranking", False, True),
    "returns_urges": ("stats_returns_urges", False, False),
    "kitchen_times": ("stats_kitchen_times", False, False),
    "station_times": ("stats_station_times", False, False),
}


def zone(name: str) -> ZoneInfo:
    try:
        if not name or len(name) > 64 or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}", field="tz") from exc


def day(text: str, tz: ZoneInfo, field: str) -> dt.date:
    if not text:
        return dt.datetime.now(tz).date()
    try:
        date = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be a date YYYY-MM-DD", field=field) from exc
    if not FIRST_DAY <= date <= LAST_DAY:
        raise InvalidInput(f"{field} must be a date from {FIRST_DAY} to {LAST_DAY}",
                           field=field)
    return date


def days_asked(call: Call, tz: ZoneInfo) -> tuple[dt.date, dt.date]:
    """``from`` and ``to`` (``to`` defaults to ``from``, ``from`` to today), or ``last=N``: the
    last N days up to today, today being the restaurant's, not the asking device's."""
    raw = call.query("last")
    if raw:
        if call.query("from") or call.query("to"):
            raise InvalidInput("give either last or from / to", field="last")
        if not body.is_count(raw) or not 1 <= int(raw) <= MAX_DAYS:
            raise InvalidInput(f"last must be from 1 to {MAX_DAYS} days", field="last")
        today = dt.datetime.now(tz).date()
        return today - dt.timedelta(days=int(raw) - 1), today
    first = day(call.query("from"), tz, "from")
    return first, day(call.query("to"), tz, "to") if call.query("to") else first


def day_range(first: dt.date, last: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start of ``first``, start of the day after ``last``) in ``tz``."""
    if last < first:
        raise InvalidInput("to is before from", field="to")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at once", field="to")
    start = dt.datetime.combine(first, dt.time(), tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz)
    return start, end


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _order_row(row: Any) -> dict[str, Any]:
    data = {k: plain(v) for k, v in dict(row).items()}
    lines = sorted(data.get("lines") or [], key=lambda ln: int(str(ln["id"]).lstrip("L") or 0))
    data["lines"] = [Line.from_dict(ln).to_dict() for ln in lines]
    return data


async def orders_of_day(call: Call) -> dict[str, Any]:
    """Every order of one day (PostgreSQL; today's live orders merged in)."""
    tz = zone(call.query("tz", call.svc.settings.tz))
    date = day(call.query("date"), tz, "date")
    start, end = day_range(date, date, tz)
    async with call.svc.pool.acquire() as conn:
        rows = await conn.fetch(call.svc.queries["api_orders_of_day"], call.rid, _ms(start),
                                _ms(end))
    orders = {r["id"]: _order_row(r) for r in rows}
    source = "postgres"
    if date == dt.datetime.now(tz).date():
        source = "postgres+live"
        for order in await call.svc.store.orders(call.rid):
            if _ms(start) <= order.created_at < _ms(end):
                orders[order.id] = {**order.to_dict(), "total_fen": order.total_fen}
    out = sorted(orders.values(), key=lambda o: (o["created_at"], o["no"]))
    return {"date": date.isoformat(), "tz": str(tz), "source": source, "count": len(out),
            "total_fen": sum(int(o["total_fen"]) for o in out), "orders": out}


async def statistics(call: Call) -> dict[str, Any]:
    """One statistics report over [from, to] (days in the restaurant's time zone)."""
    report = call.param("report")
    if report not in REPORTS:
        raise NotFound(f"no report {report!r}; one of {', '.join(REPORTS)}", report=report)
    query, takes_tz, takes_limit = REPORTS[report]
    if query not in call.svc.queries:
        raise NotFound("statistics are not available in this deployment", report=report)
    tz = zone(call.query("tz", call.svc.settings.tz))
    first, last = days_asked(call, tz)
    start, end = day_range(first, last, tz)
    args: list[Any] = [call.rid, start, end]
    if takes_tz:
        args.append(str(tz))
    if takes_limit:
        raw = call.query("limit", "20")
        if not body.is_count(raw) or not 1 <= int(raw) <= MAX_RANKING:
            raise InvalidInput(f"limit must be from 1 to {MAX_RANKING}", field="limit")
        args.append(int(raw))
    async with call.svc.pool.acquire() as conn:
        rows = await conn.fetch(call.svc.queries[query], *args)
    return {"report": report, "from": first.isoformat(), "to": last.isoformat(),
            "tz": str(tz), "rows": [{k: plain(v) for k, v in dict(r).items()} for r in rows]}
