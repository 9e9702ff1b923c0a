"""Which slips an event prints, on which station's printer (pure).

    order placed        each station prints its dishes (held courses wait for 起菜)
    dishes added        加菜 slip of the added dishes
    course fired        起菜 slip of the dishes sent to the kitchen
    dish voided         退菜 slip (dishes voided by the kitchen or the merchant)
    dish returned       退菜 slip, if the dish had reached the kitchen
    dish urged          催菜 slip
    reprint             the whole ticket again, marked 补打

A station marked ``is_expo`` with a printer gets every dish of the order. A slip's id is
``<event id>:<station id>``, so a redelivered event makes the same slip again, not a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kitchen import events as ev
from kitchen.escpos import SlipKind, Ticket, TicketLine
from kitchen.model import DEAD_STATUSES, DishStatus, Line, Menu, Order


@dataclass(frozen=True)
class StationPrinter:
    station_id: str
    name: str
    address: str  # "host:port"
    is_expo: bool = False

    @property
    def host_port(self) -> tuple[str, int]:
        """``("host", port)``; the port is 9100 (raw printing) when the address has none."""
        host, colon, port = self.address.strip().rpartition(":")
        if not colon:
            return self.address.strip(), 9100
        return host.strip("[]"), int(port) if port.isdigit() else 9100


@dataclass(frozen=True)
class Slip:
    id: str
    order_id: str
    station_id: str
    ticket: Ticket
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        t = {f.name: getattr(self.ticket, f.name) for f in fields(self.ticket)}
        t["kind"] = str(self.ticket.kind)
        t["lines"] = [[ln.name, ln.qty, ln.note, list(ln.taste)] for ln in self.ticket.lines]
        t["extra"] = list(self.ticket.extra)
        return {"id": self.id, "order_id": self.order_id, "station_id": self.station_id,
                "created_at": self.created_at, "ticket": t}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Slip:
        t = dict(d["ticket"])
        t["kind"] = SlipKind(t.get("kind", "new"))
        t["lines"] = tuple(TicketLine(str(n), int(q), str(note), tuple(taste))
                           for n, q, note, taste in t.get("lines", ()))
        t["extra"] = tuple(t.get("extra", ()))
        names = {f.name for f in fields(Ticket)}
        ticket = Ticket(**{k: v for k, v in t.items() if k in names})
        return cls(str(d["id"]), str(d["order_id"]), str(d["station_id"]), ticket,
                   int(d["created_at"]))


@dataclass(frozen=True)
class Layout:
    """How tickets look in one restaurant."""

    restaurant: str = ""
    tz: str = "Asia/Shanghai"
    width: int = 32

    def clock(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(self.tz)).strftime(
            "%H:%M")


def _picked(event: ev.Event) -> tuple[SlipKind, Order, set[str]] | None:
    """(kind, order, ids of the dishes to print) for an event that prints, else None."""
    match event:
        case ev.OrderPlaced(order=o):
            return SlipKind.NEW, o, {ln.id for ln in o.lines if ln.status != DishStatus.HELD}
        case ev.LinesAdded(order=o, line_ids=ids):
            return SlipKind.ADD, o, {i for i in ids if _live(o, i)}
        case ev.DishStatusChanged(order=o, action="fire", changes=changes):
            return SlipKind.FIRE, o, {c.line_id for c in changes}
        case ev.DishStatusChanged(order=o, action="void", changes=changes):
            return SlipKind.VOID, o, {c.line_id for c in changes if c.prev != DishStatus.HELD}
        case ev.DishReturned(order=o, line_id=line_id, prev=prev):
            return (SlipKind.VOID, o, set()) if prev == DishStatus.HELD else (
                SlipKind.VOID, o, {line_id})
        case ev.DishUrged(order=o, line_id=line_id):  # a held dish is not in the kitchen yet
            return SlipKind.URGE, o, {line_id} if _live(o, line_id) else set()
        case _:
            return None


def may_print(event: ev.Event) -> bool:
    """Whether ``event`` is of a kind that prints slips (cheap: before reading printers)."""
    return _picked(event) is not None


def _live(order: Order, line_id: str) -> bool:
    line = order.line(line_id)
    return line is not None and line.status != DishStatus.HELD


def _taste(menu: Menu | None, line: Line) -> tuple[str, ...]:
    dish = menu.dish(line.dish_id) if menu else None
    return dish.tags if dish else ()


def _ticket(kind: SlipKind, order: Order, lines: list[Line], printer: StationPrinter,
            layout: Layout, menu: Menu | None, at: int, reprint: bool = False) -> Ticket:
    return Ticket(
        station=printer.name, table_no=order.table_no, order_no=order.no, time=layout.clock(at),
        lines=tuple(TicketLine(ln.name_zh or ln.name_en, ln.qty, ln.note, _taste(menu, ln))
                    for ln in lines),
        kind=kind, restaurant=layout.restaurant, guests=order.guests, rush=order.rush,
        reprint=reprint, width=layout.width,
    )


def _per_station(kind: SlipKind, order: Order, ids: set[str], printers: Mapping[str,
                 StationPrinter], layout: Layout, menu: Menu | None, at: int, slip_key: str,
                 reprint: bool = False) -> list[Slip]:
    chosen = [ln for ln in order.lines if ln.id in ids]
    slips = []
    for station_id in sorted(printers):
        printer = printers[station_id]
        lines = chosen if printer.is_expo else [ln for ln in chosen
                                                 if ln.station_id == station_id]
        if lines:
            ticket = _ticket(kind, order, lines, printer, layout, menu, at, reprint)
            slips.append(Slip(f"{slip_key}:{station_id}", order.id, station_id, ticket, at))
    return slips


def slips_for(event: ev.Event, printers: Mapping[str, StationPrinter], layout: Layout,
              menu: Menu | None = None) -> list[Slip]:
    """The slips ``event`` prints (stations without a printer print nothing)."""
    picked = _picked(event)
    if picked is None:
        return []
    kind, order, ids = picked
    return _per_station(kind, order, ids, printers, layout, menu, event.ts, event.id)


def reprint_slips(order: Order, printers: Mapping[str, StationPrinter], layout: Layout,
                  request_id: str, at: int, station_id: str = "",
                  menu: Menu | None = None) -> list[Slip]:
    """The whole ticket again (dishes still in the order), for one station or every one."""
    chosen = {ln.id for ln in order.lines
              if ln.status not in DEAD_STATUSES and ln.status != DishStatus.HELD}
    wanted = {k: v for k, v in printers.items() if not station_id or k == station_id}
    return _per_station(SlipKind.NEW, order, chosen, wanted, layout, menu, at, request_id,
                        reprint=True)
