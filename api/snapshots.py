"""Snapshots for screens: a station's open tickets, the pass (expo), one table's orders, the
table board. Each carries ``epoch`` and ``pos``, the log position read *before* the data: a
screen subscribes to the hub from there, so nothing between the snapshot and the
subscription is missed (an event already in the snapshot may arrive again; the screen drops
events at or before the position it shows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api import auth
from api.context import Call
from api.estimates import queues, wait_s
from api.guards import seated
from kitchen import codec, dishflow, keys
from kitchen.errors import CodecError, NotFound
from kitchen.model import DishStatus as S
from kitchen.model import Line, Menu, Order, Station, TableState, TableStatus
from kitchen.store import Reads, State

KITCHEN = (S.HELD, S.QUEUED, S.COOKING)
WAITER_CALL_MS = 10 * 60_000  # a waiter call shows this long
IDLE_SEATED_MS = 15 * 60_000  # seated without an order this long: someone should go
PAYING_MS = 10 * 60_000  # asked for the bill this long ago and not cleared
PRESENCE_FRESH_MS = 20_000  # as the hub: older entries belong to a hub that died
DEFAULT_STATION = Station("", "", "")


async def position(call: Call) -> tuple[str, str]:
    return await call.svc.store.position(call.rid)


def _late(order: Order, line: Line, now: int) -> bool:
    since = dishflow.in_kitchen_since(order, line)
    return line.status in (S.QUEUED, S.COOKING) and (
        line.overdue or now - since > line.target_s * 1000)


def ticket_view(order: Order, menu: Menu, now: int, station: str | None
                ) -> dict[str, Any] | None:
    """A ticket as a kitchen screen shows it (only ``station``'s dishes when given), or None
    when it has no dish of that station."""
    lines = [ln for ln in order.lines if station is None or ln.station_id == station]
    if not lines:
        return None
    live = [ln for ln in lines if ln.status in KITCHEN]
    if station is None:
        is_open = dishflow.is_open(order)
    else:  # a station's ticket is open while a dish is to cook, or a return waits its answer
        is_open = bool(live) or any(ln.return_requested for ln in lines)
    st = (menu.station(station) if station else next(
        (s for s in menu.stations if s.is_expo), None)) or DEFAULT_STATION
    oldest = min((dishflow.in_kitchen_since(order, ln) for ln in live),
                 default=order.created_at)
    age_s = max(0, (now - oldest) // 1000) if live else 0
    return {
        "order_id": order.id, "no": order.no, "table_no": order.table_no,
        "created_at": order.created_at, "rush": order.rush, "guests": order.guests,
        "open": is_open, "age_s": age_s,
        "level": "late" if age_s >= st.late_after_s else "warn" if age_s >= st.warn_after_s
        else "ok",
        "added": any(ln.added for ln in live),
        "urged": any(ln.urges for ln in live),
        "return_requested": any(ln.return_requested for ln in lines),
        "overdue": any(_late(order, ln, now) for ln in lines),
        "lines": [ln.to_dict() for ln in lines],
    }


def all_day(orders: Sequence[Order], station: str | None) -> list[dict[str, Any]]:
    """How many of each dish are still to cook (queued or cooking), and how many held."""
    counts: dict[str, dict[str, Any]] = {}
    for order in orders:
        for ln in order.lines:
            if ln.status not in KITCHEN or (station and ln.station_id != station):
                continue
            row = counts.setdefault(ln.dish_id, {"dish_id": ln.dish_id, "name_zh": ln.name_zh,
                                                 "name_en": ln.name_en, "qty": 0, "held": 0})
            row["held" if ln.status == S.HELD else "qty"] += ln.qty
    return sorted(counts.values(), key=lambda r: (-r["qty"], r["dish_id"]))


def _open_tickets(orders: Sequence[Order], menu: Menu, now: int, station: str | None
                  ) -> list[dict[str, Any]]:
    views = [ticket_view(o, menu, now, station) for o in orders]
    out = [v for v in views if v is not None and v["open"]]
    return sorted(out, key=lambda v: (not v["rush"], v["created_at"], v["no"]))


async def station_tickets(call: Call) -> dict[str, Any]:
    """A station's open tickets (oldest first, rushed ones on top) and its all-day counts."""
    station_id = call.param("station")
    epoch, pos = await position(call)
    menu = await call.svc.store.menu(call.rid)
    station = menu.station(station_id)
    if station is None:
        raise NotFound(f"no station {station_id!r}", station=station_id)
    orders = await call.svc.store.open_orders(call.rid)
    scope = None if station.is_expo else station_id
    return {"epoch": epoch, "pos": pos, "now": call.now, "station": station.to_dict(),
            "tickets": _open_tickets(orders, menu, call.now, scope),
            "all_day": all_day(orders, scope)}


async def expo(call: Call) -> dict[str, Any]:
    """The pass: every open ticket with each station's progress, and dishes ready to serve."""
    epoch, pos = await position(call)
    menu = await call.svc.store.menu(call.rid)
    orders = await call.svc.store.open_orders(call.rid)
    tickets = _open_tickets(orders, menu, call.now, None)
    by_id = {o.id: o for o in orders}
    for view in tickets:
        progress: dict[str, dict[str, int]] = {}
        for ln in by_id[view["order_id"]].lines:
            counts = progress.setdefault(ln.station_id, {})
            counts[str(ln.status)] = counts.get(str(ln.status), 0) + ln.qty
        view["stations"] = progress
    ready = [{"order_id": o.id, "no": o.no, "table_no": o.table_no, "line": ln.to_dict()}
             for o in orders for ln in o.lines if ln.status == S.READY]
    return {"epoch": epoch, "pos": pos, "now": call.now, "tickets": tickets, "ready": ready,
            "all_day": all_day(orders, None)}


async def table_orders(call: Call) -> dict[str, Any]:
    """One table's orders with every dish's status and a wait estimate."""
    table_no = call.param("table")
    epoch, pos = await position(call)
    state = await call.svc.store.read(call.rid, Reads(tables=[table_no]))
    assert isinstance(state, State)
    table = seated(call, state, table_no)
    station_queues = queues(await call.svc.store.open_orders(call.rid))
    mine = {o.id: o for o in await call.svc.store.orders_of(call.rid, table.order_ids)}
    out = []
    for oid in table.order_ids:
        order = mine.get(oid)
        if order is None:
            continue
        view = order.to_dict()
        for line_view, ln in zip(view["lines"], order.lines, strict=True):
            line_view["wait_s"] = wait_s(order, ln, station_queues, call.now)
            line_view["late"] = _late(order, ln, call.now)
        view["total_fen"] = order.total_fen
        out.append(view)
    return {"epoch": epoch, "pos": pos, "now": call.now, "table": _public_table(call, table),
            "orders": out, "total_fen": sum(o["total_fen"] for o in out)}


def _public_table(call: Call, table: TableState) -> dict[str, Any]:
    view = table.to_dict()
    if call.role == auth.DINER:
        view.pop("session", None)
    return view


def table_card(table: TableState, orders: Sequence[Order], now: int) -> dict[str, Any]:
    """One table on the board, with why it may need someone (``flags``)."""
    lines = [(o, ln) for o in orders for ln in o.lines]
    late = sum(1 for o, ln in lines if _late(o, ln, now))
    flags = []
    if late:
        flags.append("dish_late")
    if table.waiter_called_at and now - table.waiter_called_at < WAITER_CALL_MS:
        flags.append("waiter_called")
    if table.status == TableStatus.OPEN and now - table.opened_at > IDLE_SEATED_MS:
        flags.append("not_ordered")
    if table.status == TableStatus.PAYING and now - table.bill_requested_at > PAYING_MS:
        flags.append("bill_waiting")
    count = {str(s): 0 for s in S}
    for _o, ln in lines:
        count[str(ln.status)] += ln.qty
    return {
        "no": table.no, "status": str(table.status), "guests": table.guests,
        "opened_at": table.opened_at,
        "elapsed_s": (now - table.opened_at) // 1000 if table.opened_at else 0,
        "orders": len(orders), "total_fen": sum(o.total_fen for o in orders),
        "dishes": count, "late": late, "flags": flags, "waiting_too_long": bool(flags),
        "waiter_called_at": table.waiter_called_at,
        "bill_requested_at": table.bill_requested_at,
        "merged_from": list(table.merged_from),
    }


async def _presence(call: Call) -> list[dict[str, Any]]:
    raw = await call.svc.redis.hgetall(keys.presence(call.rid))
    out = []
    for screen, blob in raw.items():
        if not isinstance(screen, bytes) or not isinstance(blob, bytes):
            continue
        try:
            info = codec.unpack(blob)
        except CodecError:  # a malformed entry is skipped, never fatal
            continue
        if not isinstance(info, dict):
            continue
        seen = info.get("seen")
        if not isinstance(seen, int | float) or call.now - seen > PRESENCE_FRESH_MS:
            continue
        out.append({"screen": screen.decode(errors="replace"), **{
            k: info.get(k) for k in ("role", "station", "table", "hub", "seen")}})
    return out


async def board(call: Call) -> dict[str, Any]:
    """The table board: every table with elapsed time, totals and flags; screens online."""
    epoch, pos = await position(call)
    store = call.svc.store
    tables = await store.tables(call.rid)
    orders = {o.id: o for o in await store.orders_of(
        call.rid, [i for t in tables for i in t.order_ids])}
    presence = await _presence(call)
    stock = await store.stock(call.rid)
    cards = [table_card(t, [orders[i] for i in t.order_ids if i in orders], call.now)
             for t in tables]
    seated_cards = [c for c in cards if c["status"] != str(TableStatus.FREE)]
    return {
        "epoch": epoch, "pos": pos, "now": call.now, "tables": cards,
        "totals": {"tables": len(cards), "seated": len(seated_cards),
                   "guests": sum(c["guests"] for c in seated_cards),
                   "open_total_fen": sum(c["total_fen"] for c in seated_cards),
                   "waiting_too_long": sum(1 for c in cards if c["waiting_too_long"])},
        "sold_out": sorted(d for d, n in stock.items() if n <= 0),
        "screens": presence,
    }
