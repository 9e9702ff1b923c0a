"""What diners see, as plain data (pure): the menu now, the shared cart, the bill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kitchen.events import CartItem
from kitchen.model import DEAD_STATUSES, Dish, Menu, Order, SetMeal, TableState


def _remaining(stock: Mapping[str, int], dish_id: str) -> int | None:
    return stock.get(dish_id)


def dish_view(menu: Menu, dish: Dish, stock: Mapping[str, int], now: int) -> dict[str, Any]:
    offers = [o for o in menu.offers if o.dish_id == dish.id and o.active_at(now)]
    best = min(offers, key=lambda o: o.price_fen, default=None)
    remaining = _remaining(stock, dish.id)
    view = dish.to_dict()
    view.update(
        price_now_fen=menu.price_at(dish, now),
        offer=None if best is None or best.price_fen >= dish.price_fen else {
            "id": best.id, "price_fen": best.price_fen, "ends_at": best.ends_at,
            "label_zh": best.label_zh, "label_en": best.label_en},
        remaining=remaining,
        sold_out=remaining is not None and remaining <= 0,
    )
    return view


def set_meal_view(menu: Menu, meal: SetMeal, stock: Mapping[str, int]) -> dict[str, Any]:
    short = []
    for dish_id, per in meal.items:
        dish, left = menu.dish(dish_id), _remaining(stock, dish_id)
        if dish is None or not dish.active or (left is not None and left < per):
            short.append(dish_id)
    view = meal.to_dict()
    view["dishes"] = [{"dish_id": d, "qty": q, "name_zh": getattr(menu.dish(d), "name_zh", ""),
                       "name_en": getattr(menu.dish(d), "name_en", "")} for d, q in meal.items]
    view["sold_out"] = bool(short)
    view["sold_out_dishes"] = short
    return view


def menu_view(menu: Menu, stock: Mapping[str, int], now: int) -> dict[str, Any]:
    """The menu as a diner sees it now: active dishes with today's prices and sold-out marks,
    active set meals, and the offers running right now."""
    return {
        "restaurant_id": menu.restaurant_id,
        "name_zh": menu.name_zh,
        "name_en": menu.name_en,
        "version": menu.version,
        "categories": [c.to_dict() for c in sorted(menu.categories, key=lambda c: c.sort)],
        "dishes": [dish_view(menu, d, stock, now) for d in menu.dishes if d.active],
        "set_meals": [set_meal_view(menu, s, stock) for s in menu.set_meals if s.active],
        "offers": [o.to_dict() for o in menu.offers if o.active_at(now)],
        "stations": [{"id": s.id, "name_zh": s.name_zh, "name_en": s.name_en,
                      "is_expo": s.is_expo, "warn_after_s": s.warn_after_s,
                      "late_after_s": s.late_after_s} for s in menu.stations],
        "now": now,
    }


def cart_view(table_no: str, items: Sequence[CartItem], menu: Menu,
              stock: Mapping[str, int], now: int) -> dict[str, Any]:
    out, total = [], 0
    for item in items:
        dish = menu.dish(item.dish_id) if item.dish_id else None
        meal = menu.set_meal(item.set_meal_id) if item.set_meal_id else None
        thing = dish or meal
        unit = (menu.price_at(dish, now) if dish else meal.price_fen if meal else 0)
        available = thing is not None and thing.active
        if dish is not None:
            left = _remaining(stock, dish.id)
            available = available and (left is None or left >= item.qty)
        elif meal is not None:  # every dish of the set, as many times as it holds it
            available = available and all(
                (d := menu.dish(dish_id)) is not None and d.active
                and ((left := _remaining(stock, dish_id)) is None or left >= per * item.qty)
                for dish_id, per in meal.items)
        total += unit * item.qty if available else 0
        out.append({**item.to_dict(), "name_zh": getattr(thing, "name_zh", ""),
                    "name_en": getattr(thing, "name_en", ""), "unit_price_fen": unit,
                    "total_fen": unit * item.qty, "available": available})
    return {"table": table_no, "items": out, "count": sum(i.qty for i in items),
            "total_fen": total}


def bill_view(table: TableState, orders: Sequence[Order]) -> dict[str, Any]:
    """Every dish the table ordered in this session, with totals (returned dishes cost 0)."""
    lines = []
    for order in orders:
        for ln in order.lines:
            lines.append({"order_id": order.id, "order_no": order.no, "line_id": ln.id,
                          "dish_id": ln.dish_id, "name_zh": ln.name_zh, "name_en": ln.name_en,
                          "qty": ln.qty, "unit_price_fen": ln.unit_price_fen,
                          "total_fen": ln.total_fen, "status": str(ln.status),
                          "set_meal_id": ln.set_meal_id})
    live = [ln for o in orders for ln in o.lines if ln.status not in DEAD_STATUSES]
    dead = [ln for o in orders for ln in o.lines if ln.status in DEAD_STATUSES]
    return {
        "table": table.no,
        "status": str(table.status),
        "guests": table.guests,
        "opened_at": table.opened_at,
        "bill_requested_at": table.bill_requested_at,
        "orders": [o.id for o in orders],
        "lines": lines,
        "count": sum(ln.qty for ln in live),
        "total_fen": sum(o.total_fen for o in orders),
        "returned_fen": sum(ln.qty * ln.unit_price_fen for ln in dead),
    }
