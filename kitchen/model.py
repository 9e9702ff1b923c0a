"""The domain model: plain frozen data, no I/O.

Prices are integers in fen (1 yuan = 100 fen). Times are integer milliseconds since the epoch.
Objects are immutable; the rule modules (:mod:`kitchen.dishflow`, :mod:`kitchen.tables`,
:mod:`kitchen.ordering`) return new objects instead of changing these.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import cached_property
from typing import Any

from kitchen.frozen import quick_init


class DishStatus(StrEnum):
    HELD = "held"  # course not fired yet (叫起)
    QUEUED = "queued"
    COOKING = "cooking"
    READY = "ready"
    SERVED = "served"
    RETURNED = "returned"  # 退菜: the diner's return was granted
    VOIDED = "voided"  # cancelled by kitchen or merchant


LIVE_STATUSES = frozenset({DishStatus.HELD, DishStatus.QUEUED, DishStatus.COOKING})
DEAD_STATUSES = frozenset({DishStatus.RETURNED, DishStatus.VOIDED})


class TableStatus(StrEnum):
    FREE = "free"
    OPEN = "open"  # 开台: seated, QR code active, nothing ordered yet
    ORDERING = "ordering"  # at least one order placed
    PAYING = "paying"  # bill requested


class Role(StrEnum):
    DINER = "diner"
    STATION = "station"
    EXPO = "expo"
    MERCHANT = "merchant"


_NAMES: dict[type, tuple[str, ...]] = {}
_NAME_SETS: dict[type, frozenset[str]] = {}


def _order(cls: type) -> tuple[str, ...]:
    """A dataclass's field names (``dataclasses.fields`` walks them on every call)."""
    got = _NAMES.get(cls)
    if got is None:
        got = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return got


def _known(cls: type) -> frozenset[str]:
    got = _NAME_SETS.get(cls)
    if got is None:
        got = _NAME_SETS[cls] = frozenset(_order(cls))
    return got


def plain(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, in declaration order."""
    return {n: getattr(obj, n) for n in _order(type(obj))}


def _from(cls: Any, data: dict[str, Any]) -> Any:
    """``cls`` from a dict, ignoring keys it has no field for (written by a newer version)."""
    known = _known(cls)
    if known.issuperset(data):
        return cls(**data)
    return cls(**{k: v for k, v in data.items() if k in known})


# --------------------------------------------------------------------------- menu


@quick_init
@dataclass(frozen=True)
class Station:
    id: str
    name_zh: str
    name_en: str
    is_expo: bool = False
    warn_after_s: int = 300  # ticket turns yellow
    late_after_s: int = 480  # ticket turns red
    printer: str | None = None  # "host:port" of an ESC/POS network printer

    def to_dict(self) -> dict[str, Any]:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Station:
        return _from(cls, data)  # type: ignore[no-any-return]


@quick_init
@dataclass(frozen=True)
class Category:
    id: str
    name_zh: str
    name_en: str
    sort: int = 0

    def to_dict(self) -> dict[str, Any]:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Category:
        return _from(cls, data)  # type: ignore[no-any-return]


@quick_init
@dataclass(frozen=True)
class Dish:
    id: str
    category_id: str
    name_zh: str
    name_en: str
    price_fen: int
    station_id: str
    photo: str = ""
    tags: tuple[str, ...] = ()  # taste tags: 辣 spicy, 甜 sweet …
    calories: int = 0
    allergens: tuple[str, ...] = ()
    target_s: int = 600  # target cooking time; past it the dish is overdue
    active: bool = True
    description_zh: str = ""
    description_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = plain(self)
        d["tags"] = list(self.tags)
        d["allergens"] = list(self.allergens)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dish:
        data = dict(data)
        data["tags"] = tuple(data.get("tags", ()))
        data["allergens"] = tuple(data.get("allergens", ()))
        return _from(cls, data)  # type: ignore[no-any-return]


@quick_init
@dataclass(frozen=True)
class SetMeal:
    """A fixed combination of dishes sold at one price (套餐)."""

    id: str
    name_zh: str
    name_en: str
    price_fen: int
    items: tuple[tuple[str, int], ...]  # (dish_id, quantity)
    photo: str = ""
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = plain(self)
        d["items"] = [list(i) for i in self.items]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SetMeal:
        data = dict(data)
        data["items"] = tuple((str(d), int(q)) for d, q in data.get("items", ()))
        return _from(cls, data)  # type: ignore[no-any-return]


@quick_init
@dataclass(frozen=True)
class Offer:
    """A time-limited price for one dish (限时特价), active in [starts_at, ends_at)."""

    id: str
    dish_id: str
    price_fen: int
    starts_at: int
    ends_at: int
    label_zh: str = "限时特价"
    label_en: str = "Limited offer"

    def active_at(self, now_ms: int) -> bool:
        return self.starts_at <= now_ms < self.ends_at

    def to_dict(self) -> dict[str, Any]:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Offer:
        return _from(cls, data)  # type: ignore[no-any-return]


@quick_init
@dataclass(frozen=True)
class Menu:
    """Everything a restaurant sells, as one versioned value."""

    restaurant_id: str
    name_zh: str
    name_en: str
    stations: tuple[Station, ...]
    categories: tuple[Category, ...]
    dishes: tuple[Dish, ...]
    set_meals: tuple[SetMeal, ...] = ()
    offers: tuple[Offer, ...] = ()
    tables: tuple[str, ...] = ()
    version: int = 1

    @cached_property
    def _dishes(self) -> dict[str, Dish]:
        return {d.id: d for d in reversed(self.dishes)}  # the first of a repeated id wins

    def dish(self, dish_id: str) -> Dish | None:
        return self._dishes.get(dish_id)

    def station(self, station_id: str) -> Station | None:
        for s in self.stations:
            if s.id == station_id:
                return s
        return None

    def set_meal(self, set_id: str) -> SetMeal | None:
        for s in self.set_meals:
            if s.id == set_id:
                return s
        return None

    @cached_property
    def _offers(self) -> dict[str, tuple[Offer, ...]]:
        by_dish: dict[str, list[Offer]] = {}
        for o in self.offers:
            by_dish.setdefault(o.dish_id, []).append(o)
        return {dish_id: tuple(offers) for dish_id, offers in by_dish.items()}

    def price_at(self, dish: Dish, now_ms: int) -> int:
        """The dish's price now: the lowest active offer, else the list price."""
        offers = self._offers.get(dish.id)
        if offers is None:
            return dish.price_fen
        return min([dish.price_fen, *(o.price_fen for o in offers if o.active_at(now_ms))])

    def to_dict(self) -> dict[str, Any]:
        return {
            "restaurant_id": self.restaurant_id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "stations": [s.to_dict() for s in self.stations],
            "categories": [c.to_dict() for c in self.categories],
            "dishes": [d.to_dict() for d in self.dishes],
            "set_meals": [s.to_dict() for s in self.set_meals],
            "offers": [o.to_dict() for o in self.offers],
            "tables": list(self.tables),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Menu:
        return cls(
            restaurant_id=data["restaurant_id"],
            name_zh=data.get("name_zh", ""),
            name_en=data.get("name_en", ""),
            stations=tuple(Station.from_dict(s) for s in data.get("stations", ())),
            categories=tuple(Category.from_dict(c) for c in data.get("categories", ())),
            dishes=tuple(Dish.from_dict(d) for d in data.get("dishes", ())),
            set_meals=tuple(SetMeal.from_dict(s) for s in data.get("set_meals", ())),
            offers=tuple(Offer.from_dict(o) for o in data.get("offers", ())),
            tables=tuple(data.get("tables", ())),
            version=int(data.get("version", 1)),
        )


# --------------------------------------------------------------------------- live state


@quick_init
@dataclass(frozen=True)
class Line:
    """One dish on an order (an order line), with its own kitchen status."""

    id: str
    dish_id: str
    name_zh: str
    name_en: str
    qty: int
    unit_price_fen: int
    station_id: str
    status: DishStatus = DishStatus.QUEUED
    note: str = ""
    course: int = 1
    added: bool = False  # 加菜: added to an existing order
    set_meal_id: str = ""
    target_s: int = 600
    urges: int = 0  # 催菜 count
    last_urged_at: int = 0
    overdue: bool = False
    return_requested: bool = False
    times: dict[str, int] = field(default_factory=dict)  # status (or "recalled") → when

    @property
    def total_fen(self) -> int:
        return 0 if self.status in DEAD_STATUSES else self.qty * self.unit_price_fen

    def to_dict(self) -> dict[str, Any]:  # spelled out: the hottest to_dict (every order)
        return {
            "id": self.id, "dish_id": self.dish_id, "name_zh": self.name_zh,
            "name_en": self.name_en, "qty": self.qty, "unit_price_fen": self.unit_price_fen,
            "station_id": self.station_id, "status": str(self.status), "note": self.note,
            "course": self.course, "added": self.added, "set_meal_id": self.set_meal_id,
            "target_s": self.target_s, "urges": self.urges,
            "last_urged_at": self.last_urged_at, "overdue": self.overdue,
            "return_requested": self.return_requested, "times": dict(self.times),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Line:
        data = dict(data)
        data["status"] = DishStatus(data.get("status", "queued"))
        data["times"] = dict(data.get("times", {}))
        return _from(cls, data)  # type: ignore[no-any-return]


@quick_init
@dataclass(frozen=True)
class Order:
    """One ticket: what a table ordered at once, plus the dishes added to it later."""

    id: str
    restaurant_id: str
    table_no: str
    session_id: str
    no: int  # ticket number of the day, shown big on screens
    created_at: int
    lines: tuple[Line, ...]
    rush: bool = False
    guests: int = 0

    def line(self, line_id: str) -> Line | None:
        for ln in self.lines:
            if ln.id == line_id:
                return ln
        return None

    def stations(self) -> tuple[str, ...]:
        return tuple(sorted({ln.station_id for ln in self.lines}))

    @property
    def total_fen(self) -> int:
        return sum(ln.total_fen for ln in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "restaurant_id": self.restaurant_id,
            "table_no": self.table_no,
            "session_id": self.session_id,
            "no": self.no,
            "created_at": self.created_at,
            "lines": [ln.to_dict() for ln in self.lines],
            "rush": self.rush,
            "guests": self.guests,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        return cls(
            id=data["id"],
            restaurant_id=data["restaurant_id"],
            table_no=data["table_no"],
            session_id=data["session_id"],
            no=int(data["no"]),
            created_at=int(data["created_at"]),
            lines=tuple(Line.from_dict(ln) for ln in data["lines"]),
            rush=bool(data.get("rush", False)),
            guests=int(data.get("guests", 0)),
        )


@quick_init
@dataclass(frozen=True)
class TableState:
    """A table's live state. ``session`` changes at every 开台, which retires old QR tokens."""

    no: str
    status: TableStatus = TableStatus.FREE
    session: str = ""
    opened_at: int = 0
    guests: int = 0
    order_ids: tuple[str, ...] = ()
    merged_from: tuple[str, ...] = ()
    waiter_called_at: int = 0
    bill_requested_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "no": self.no,
            "status": str(self.status),
            "session": self.session,
            "opened_at": self.opened_at,
            "guests": self.guests,
            "order_ids": list(self.order_ids),
            "merged_from": list(self.merged_from),
            "waiter_called_at": self.waiter_called_at,
            "bill_requested_at": self.bill_requested_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableState:
        return cls(
            no=data["no"],
            status=TableStatus(data.get("status", "free")),
            session=data.get("session", ""),
            opened_at=int(data.get("opened_at", 0)),
            guests=int(data.get("guests", 0)),
            order_ids=tuple(data.get("order_ids", ())),
            merged_from=tuple(data.get("merged_from", ())),
            waiter_called_at=int(data.get("waiter_called_at", 0)),
            bill_requested_at=int(data.get("bill_requested_at", 0)),
        )
