"""Events: what happened, as small frozen dataclasses with a type tag and a version.

Every event has an ``id`` (unique, chosen by the producer, so consumers can be idempotent),
the ``restaurant_id`` whose log it belongs to and ``ts`` (ms). Events that change an order or a
table carry the order's / table's whole new state, so a screen can simply replace what it shows
and a worker can upsert without replaying. Only :mod:`kitchen.codec` turns them into bytes.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kitchen.frozen import quick_init
from kitchen.model import Order, TableState


class _Ids:
    """128-bit random ids from a generator seeded by the OS once per process (and again in a
    forked child): unique as uuid4, without a system call for each. Not secrets (whoever
    sees many could guess the next): ids only name things, tokens grant access."""

    def __init__(self) -> None:
        self.rng = random.Random(secrets.randbits(128))
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.rng.seed(secrets.randbits(128))

    def next(self, bits: int = 128) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"


_IDS = _Ids()


def new_id(bits: int = 128) -> str:
    """A random id of ``bits`` bits as hex (128: 32 characters)."""
    return _IDS.next(bits)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = "event"
    version: ClassVar[int] = 1
    restaurant_id: str
    id: str = field(default_factory=new_id, kw_only=True)
    ts: int = field(default_factory=now_ms, kw_only=True)


@quick_init
@dataclass(frozen=True)
class StatusChange:
    line_id: str
    station_id: str
    prev: str
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"line_id": self.line_id, "station_id": self.station_id,
                "prev": self.prev, "status": self.status}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StatusChange:
        return cls(str(d["line_id"]), str(d["station_id"]), str(d["prev"]), str(d["status"]))


@quick_init
@dataclass(frozen=True)
class CartItem:
    dish_id: str
    qty: int
    note: str = ""
    set_meal_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"dish_id": self.dish_id, "qty": self.qty, "note": self.note,
                "set_meal_id": self.set_meal_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CartItem:
        return cls(str(d.get("dish_id", "")), int(d["qty"]), str(d.get("note", "")),
                   str(d.get("set_meal_id", "")))


# ----------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class OrderPlaced(Event):
    type: ClassVar[str] = "order.placed"
    order: Order


@dataclass(frozen=True)
class LinesAdded(Event):
    """加菜: dishes added to an order that is already in the kitchen."""

    type: ClassVar[str] = "order.lines_added"
    order: Order
    line_ids: tuple[str, ...]


@dataclass(frozen=True)
class DishStatusChanged(Event):
    """One kitchen action (start, ready, bump, serve, recall, fire, void) on one or more dishes."""

    type: ClassVar[str] = "dish.status_changed"
    order: Order
    action: str
    changes: tuple[StatusChange, ...]
    by: str = ""


@dataclass(frozen=True)
class ReturnRequested(Event):
    type: ClassVar[str] = "dish.return_requested"
    order: Order
    line_id: str


@dataclass(frozen=True)
class DishReturned(Event):
    """退菜 granted: at once while queued, or approved by the kitchen or merchant."""

    type: ClassVar[str] = "dish.returned"
    order: Order
    line_id: str
    prev: str
    approved_by: str = ""


@dataclass(frozen=True)
class ReturnRefused(Event):
    type: ClassVar[str] = "dish.return_refused"
    order: Order
    line_id: str
    by: str = ""


@dataclass(frozen=True)
class DishUrged(Event):
    """催菜 by the diner or staff."""

    type: ClassVar[str] = "dish.urged"
    order: Order
    line_id: str


@dataclass(frozen=True)
class DishOverdue(Event):
    """A dish passed its target cooking time: the automatic 催菜."""

    type: ClassVar[str] = "dish.overdue"
    order: Order
    line_id: str


@dataclass(frozen=True)
class OrderRushed(Event):
    type: ClassVar[str] = "order.rushed"
    order: Order
    rush: bool = True


@dataclass(frozen=True)
class TicketPrinted(Event):
    """A station's slip of an order was printed (``ok``) or failed for good (``error``)."""

    type: ClassVar[str] = "ticket.printed"
    order_id: str
    station_id: str
    ok: bool
    error: str = ""
    table_no: str = ""


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class TableOpened(Event):
    type: ClassVar[str] = "table.opened"
    table: TableState


@dataclass(frozen=True)
class TableTransferred(Event):
    """转台: everything of ``source`` moves to the free table ``target``."""

    type: ClassVar[str] = "table.transferred"
    source: TableState
    target: TableState
    orders: tuple[Order, ...] = ()


@dataclass(frozen=True)
class TableMerged(Event):
    """合桌: ``source``'s orders join ``target``; ``source`` becomes free."""

    type: ClassVar[str] = "table.merged"
    source: TableState
    target: TableState
    orders: tuple[Order, ...] = ()


@dataclass(frozen=True)
class TableCleared(Event):
    """清台: the session ends; its QR tokens stop working."""

    type: ClassVar[str] = "table.cleared"
    table: TableState
    session_id: str
    total_fen: int = 0


@dataclass(frozen=True)
class BillRequested(Event):
    type: ClassVar[str] = "table.bill_requested"
    table: TableState
    total_fen: int


@dataclass(frozen=True)
class TableReopened(Event):
    """加菜 after the bill was asked for: the table is ordering again (its bill is out of date
    until asked for anew)."""

    type: ClassVar[str] = "table.reopened"
    table: TableState


@dataclass(frozen=True)
class WaiterCalled(Event):
    type: ClassVar[str] = "table.waiter_called"
    table: TableState
    reason: str = ""


@dataclass(frozen=True)
class CartChanged(Event):
    """The table's shared cart, as every phone at the table should show it."""

    type: ClassVar[str] = "cart.changed"
    table_no: str
    items: tuple[CartItem, ...]


# ----------------------------------------------------------------------------- stock and menu


@dataclass(frozen=True)
class StockChanged(Event):
    """``remaining`` of ``None`` means unlimited."""

    type: ClassVar[str] = "stock.changed"
    dish_id: str
    remaining: int | None


@dataclass(frozen=True)
class DishSoldOut(Event):
    """估清: the dish can no longer be ordered."""

    type: ClassVar[str] = "dish.sold_out"
    dish_id: str


@dataclass(frozen=True)
class DishRestocked(Event):
    type: ClassVar[str] = "dish.restocked"
    dish_id: str
    remaining: int | None


@dataclass(frozen=True)
class MenuChanged(Event):
    type: ClassVar[str] = "menu.changed"
    menu_version: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        OrderPlaced, LinesAdded, DishStatusChanged, ReturnRequested, DishReturned,
        ReturnRefused, DishUrged, DishOverdue, OrderRushed, TicketPrinted, TableOpened,
        TableTransferred, TableMerged, TableCleared, BillRequested, TableReopened, WaiterCalled,
        CartChanged,
        StockChanged, DishSoldOut, DishRestocked, MenuChanged,
    )
}
for _event in EVENT_TYPES.values():  # made by every command, decoded by every reader
    quick_init(_event)
