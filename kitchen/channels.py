"""Channels a screen can subscribe to, and which channels an event reaches (pure).

    station:R:S    one kitchen station's screen (its tickets only)
    expo:R         the pass: every order, every station
    table:R:T      the diners' phones at table T
    board:R        the merchant's table board (tables, bills, calls, stock)
    menu:R         sold-out marks and menu changes (every screen of restaurant R may listen)
    all:R          everything of restaurant R (merchant dashboards, printers)

A ticket reaches every station that has one of its dishes; a move of some dishes (start,
bump, recall, an urge, a return) reaches only the stations of those dishes, so a station's
tablet is not woken by the other stations' work on the same ticket. Because events carry
whole orders, a screen that gets an event simply replaces the order it shows (a station shows
only its own dishes, so what it holds of the others' may be older: it never shows them).
"""

from __future__ import annotations

from typing import Any

from kitchen.codec import Envelope

KINDS = ("station", "expo", "table", "board", "menu", "all")


def station(r: str, s: str) -> str:
    return f"station:{r}:{s}"


def expo(r: str) -> str:
    return f"expo:{r}"


def table(r: str, t: str) -> str:
    return f"table:{r}:{t}"


def board(r: str) -> str:
    return f"board:{r}"


def everything(r: str) -> str:
    return f"all:{r}"


def parse(name: str) -> tuple[str, str, str]:
    """``"station:R:S"`` → ``("station", "R", "S")``; raises ValueError when malformed."""
    parts = name.split(":")
    kind = parts[0]
    if kind in ("station", "table") and len(parts) == 3 and parts[1] and parts[2]:
        return kind, parts[1], parts[2]
    if kind in ("expo", "board", "menu", "all") and len(parts) == 2 and parts[1]:
        return kind, parts[1], ""
    raise ValueError(f"malformed channel {name!r}")


# events about one dish of an order, named by ``line_id``
_ONE_DISH = frozenset({"dish.urged", "dish.overdue", "dish.return_requested", "dish.returned",
                       "dish.return_refused"})


def _order_channels(r: str, order: dict[str, Any], stations: set[str] | None = None
                    ) -> set[str]:
    """The pass, the table, the board and ``stations`` (None: every station of the order)."""
    out = {expo(r), table(r, str(order["table_no"])), board(r)}
    if stations is None:
        stations = {str(ln["station_id"]) for ln in order.get("lines", ())}
    out.update(station(r, s) for s in stations)
    return out


def _dish_stations(kind: str, p: dict[str, Any]) -> set[str] | None:
    """The stations whose dishes an event moves, when it is about some dishes of its order
    only; None when it is about the whole order (or names no dish it carries)."""
    if kind == "dish.status_changed":
        got = {str(c["station_id"]) for c in p.get("changes", ())}
    elif kind in _ONE_DISH:
        line = p.get("line_id")
        got = {str(ln["station_id"]) for ln in p["order"].get("lines", ()) if ln["id"] == line}
    else:
        return None
    return got or None


def _table_channels(r: str, t: dict[str, Any]) -> set[str]:
    return {table(r, str(t["no"])), board(r)}


def route(env: Envelope) -> frozenset[str]:
    """Every channel that must receive this event."""
    r, p, kind = env.restaurant_id, env.payload, env.type
    out = {everything(r)}
    if "order" in p:
        out |= _order_channels(r, p["order"], _dish_stations(kind, p))
    for o in p.get("orders", ()):
        out |= _order_channels(r, o)
    for key in ("table", "source", "target"):
        if key in p:
            out |= _table_channels(r, p[key])
    if kind == "cart.changed":
        out.add(table(r, str(p["table_no"])))
    elif kind == "ticket.printed":
        out |= {station(r, str(p["station_id"])), expo(r), board(r)}
    elif kind in ("stock.changed", "dish.sold_out", "dish.restocked", "menu.changed"):
        out |= {board(r), expo(r), menu_channel(r)}
    return frozenset(out)


def menu_channel(r: str) -> str:
    """Sold-out marks and menu changes: every diner phone of restaurant R listens here."""
    return "menu:" + r
