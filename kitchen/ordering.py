"""Turning what a diner asks for into order lines, against the menu and stock (pure).

Limits are explicit and enforced here, so every edge refuses the same input the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kitchen.errors import InvalidInput, NotFound, SoldOut
from kitchen.frozen import quick_init
from kitchen.model import DishStatus, Line, Menu, Order

MAX_ITEMS = 30  # items per order or addition
MAX_QTY = 20  # of one item
MAX_NOTE = 100  # characters of a note
MAX_COURSE = 5


@quick_init
@dataclass(frozen=True)
class Item:
    """One thing a diner asks for: a dish or a set meal, how many, a note, a course."""

    qty: int
    dish_id: str = ""
    set_meal_id: str = ""
    note: str = ""
    course: int = 1


def parse_items(raw: Any) -> tuple[Item, ...]:
    """Validate the ``items`` of a request body (a list of objects)."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("items must be a non-empty list", field="items")
    if len(raw) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} items at once", field="items")
    return tuple(_parse_item(i, n) for n, i in enumerate(raw))


def _parse_item(raw: Any, n: int) -> Item:
    where = f"items[{n}]"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object", field=where)
    dish_id, set_id = raw.get("dish_id", ""), raw.get("set_meal_id", "")
    if not isinstance(dish_id, str) or not isinstance(set_id, str) or bool(dish_id) == bool(
            set_id):
        raise InvalidInput(f"{where} needs exactly one of dish_id or set_meal_id", field=where)
    qty, note, course = raw.get("qty", 1), raw.get("note", ""), raw.get("course", 1)
    if type(qty) is not int or not 1 <= qty <= MAX_QTY:
        raise InvalidInput(f"{where}.qty must be a whole number from 1 to {MAX_QTY}",
                           field=f"{where}.qty")
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise InvalidInput(f"{where}.note must be text of at most {MAX_NOTE} characters",
                           field=f"{where}.note")
    if type(course) is not int or not 1 <= course <= MAX_COURSE:
        raise InvalidInput(f"{where}.course must be from 1 to {MAX_COURSE}",
                           field=f"{where}.course")
    return Item(qty=qty, dish_id=dish_id, set_meal_id=set_id, note=note.strip(), course=course)


def _split(total: int, weights: Sequence[int]) -> list[int]:
    """Share ``total`` in proportion to ``weights`` (integers that add up exactly)."""
    whole = sum(weights)
    if whole <= 0:
        shares = [0] * len(weights)
        shares[0] = total
        return shares
    shares = [total * w // whole for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def build_lines(menu: Menu, items: Sequence[Item], now: int, first_no: int,
                added: bool = False) -> tuple[Line, ...]:
    """Order lines for ``items``; set meals become one line per dish, the set price shared
    among them. Line ids are ``L<n>`` counting from ``first_no``."""
    lines: list[Line] = []

    def add(dish_id: str, qty: int, price: int, item: Item) -> None:
        dish = menu.dish(dish_id)
        if dish is None or not dish.active:
            raise NotFound(f"no dish {dish_id!r} on the menu", dish_id=dish_id)
        status = DishStatus.HELD if item.course > 1 else DishStatus.QUEUED
        lines.append(Line(
            id=f"L{first_no + len(lines)}", dish_id=dish.id, name_zh=dish.name_zh,
            name_en=dish.name_en, qty=qty, unit_price_fen=price, station_id=dish.station_id,
            status=status, note=item.note, course=item.course, added=added,
            set_meal_id=item.set_meal_id, target_s=dish.target_s, times={str(status): now}))

    for item in items:
        if item.dish_id:
            dish = menu.dish(item.dish_id)
            if dish is None or not dish.active:
                raise NotFound(f"no dish {item.dish_id!r} on the menu", dish_id=item.dish_id)
            add(dish.id, item.qty, menu.price_at(dish, now), item)
            continue
        meal = menu.set_meal(item.set_meal_id)
        if meal is None or not meal.active:
            raise NotFound(f"no set meal {item.set_meal_id!r} on the menu",
                           set_meal_id=item.set_meal_id)
        weights = []
        for dish_id, per in meal.items:
            dish = menu.dish(dish_id)
            weights.append((dish.price_fen if dish else 0) * per)
        for dish_id, qty, price in _set_lines(meal.items, _split(meal.price_fen, weights),
                                              meal.price_fen):
            add(dish_id, qty * item.qty, price, item)
    return tuple(lines)


def _set_lines(dishes: Sequence[tuple[str, int]], shares: Sequence[int], price: int
               ) -> list[tuple[str, int, int]]:
    """One set's (dish, units, unit price), adding up to its price to the fen. Each dish's
    share is split into equal units; what that rounds away goes to the last dish served
    once per set, or, when every dish comes several times, to one unit of the last dish,
    which then has a line of its own."""
    counts = [per or 1 for _, per in dishes]
    units = [share // n for share, n in zip(shares, counts, strict=True)]
    rest = price - sum(u * n for u, n in zip(units, counts, strict=True))
    once = [k for k, n in enumerate(counts) if n == 1]
    if once:
        units[once[-1]] += rest
        rest = 0
    out = []
    for k, ((dish_id, per), unit) in enumerate(zip(dishes, units, strict=True)):
        if rest and k == len(dishes) - 1:
            out += [(dish_id, per - 1, unit), (dish_id, 1, unit + rest)]
        else:
            out.append((dish_id, per, unit))
    return out


def stock_needed(lines: Sequence[Line]) -> dict[str, int]:
    need: dict[str, int] = {}
    for ln in lines:
        need[ln.dish_id] = need.get(ln.dish_id, 0) + ln.qty
    return need


def take_stock(stock: Mapping[str, int | None], need: Mapping[str, int],
               menu: Menu) -> dict[str, int]:
    """New stock counts after taking ``need``; raise SoldOut naming the first short dish.
    Dishes with unlimited stock (absent or None) are not in the result."""
    left: dict[str, int] = {}
    for dish_id, qty in need.items():
        have = stock.get(dish_id)
        if have is None:
            continue
        if have < qty:
            dish = menu.dish(dish_id)
            name = dish.name_zh if dish else dish_id
            raise SoldOut(f"{name} is sold out" if have == 0 else f"only {have} {name} left",
                          dish_id=dish_id, remaining=have)
        left[dish_id] = have - qty
    return left


def new_order(menu: Menu, order_id: str, table_no: str, session: str, no: int,
              items: Sequence[Item], now: int, guests: int = 0) -> Order:
    lines = build_lines(menu, items, now, first_no=1)
    return Order(id=order_id, restaurant_id=menu.restaurant_id, table_no=table_no,
                 session_id=session, no=no, created_at=now, lines=lines, guests=guests)


def add_lines(menu: Menu, order: Order, items: Sequence[Item], now: int
              ) -> tuple[Order, tuple[str, ...]]:
    """加菜: append lines flagged ``added`` to an existing order."""
    lines = build_lines(menu, items, now, first_no=len(order.lines) + 1, added=True)
    return replace(order, lines=(*order.lines, *lines)), tuple(ln.id for ln in lines)
