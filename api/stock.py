"""Stock counts (估清): taking stock for an order, marking a dish sold out, restocking.

Every change of a count emits StockChanged with the new count; a count reaching 0 also emits
DishSoldOut, and a count raised (or made unlimited) emits DishRestocked. Counts live in Redis;
the menu's configured starting counts are edited with the dishes (:mod:`api.menu_admin`).
"""

from __future__ import annotations

from collections.abc import Sequence

from api import auth, body
from api.commands import execute, need
from api.context import Call, Reply
from kitchen import ordering
from kitchen.errors import IllegalTransition, NotFound
from kitchen.events import DishRestocked, DishSoldOut, StockChanged
from kitchen.model import Dish, Line, Menu
from kitchen.store import Reads, State, Tx

MAX_STOCK = 1_000_000


def take(tx: Tx, state: State, lines: Sequence[Line]) -> None:
    """Take the stock ``lines`` need (SoldOut naming the first short dish)."""
    needed = ordering.stock_needed(lines)
    need(state, stock=needed)
    left = ordering.take_stock(state.stock, needed, state.menu)
    for dish_id, remaining in left.items():
        tx.put_stock(dish_id, remaining)
        tx.emit(StockChanged(tx.r, dish_id=dish_id, remaining=remaining))
        if remaining == 0:
            tx.emit(DishSoldOut(tx.r, dish_id=dish_id))


def expected(menu: Menu | None, items: Sequence[ordering.Item]) -> tuple[str, ...]:
    """The dishes whose counts ordering ``items`` will take, as far as the menu last seen
    tells (a set meal's dishes): read with the order instead of in a second trip."""
    out: dict[str, None] = {}
    for item in items:
        if item.dish_id:
            out[item.dish_id] = None
        elif menu is not None and (meal := menu.set_meal(item.set_meal_id)) is not None:
            out.update(dict.fromkeys(d for d, _ in meal.items))
    return tuple(out)


def set_count(tx: Tx, state: State, dish_id: str, remaining: int | None) -> None:
    before = state.stock.get(dish_id)
    tx.put_stock(dish_id, remaining)
    tx.emit(StockChanged(tx.r, dish_id=dish_id, remaining=remaining))
    if remaining == 0:
        tx.emit(DishSoldOut(tx.r, dish_id=dish_id))
    elif before is not None and (remaining is None or remaining > before):
        tx.emit(DishRestocked(tx.r, dish_id=dish_id, remaining=remaining))


def _dish(call: Call, state: State) -> Dish:
    dish = state.menu.dish(call.param("dish"))
    if dish is None:
        raise NotFound(f"no dish {call.param('dish')!r} on the menu", dish_id=call.param("dish"))
    scope = auth.station_scope(call.who)
    if scope is not None:
        auth.check_station(call.who, dish.station_id)
    return dish


async def mark_sold_out(call: Call) -> Reply:
    """估清: the dish can no longer be ordered (its count becomes 0)."""

    def decide(state: State) -> Tx:
        dish = _dish(call, state)
        if state.stock.get(dish.id) == 0:
            raise IllegalTransition(f"{dish.name_zh} is already sold out", dish_id=dish.id)
        tx = Tx(state)
        set_count(tx, state, dish.id, 0)
        tx.response = {"dish_id": dish.id, "remaining": 0, "sold_out": True}
        return tx

    return await execute(call, Reads(stock=[call.param("dish")]), decide)


async def set_stock(call: Call) -> Reply:
    """Set a dish's remaining count (restock), or ``null`` for unlimited."""
    remaining = body.optional_int(call.body, "remaining", lo=0, hi=MAX_STOCK)

    def decide(state: State) -> Tx:
        dish = _dish(call, state)
        tx = Tx(state)
        set_count(tx, state, dish.id, remaining)
        tx.response = {"dish_id": dish.id, "remaining": remaining,
                       "sold_out": remaining == 0}
        return tx

    return await execute(call, Reads(stock=[call.param("dish")]), decide)


async def get_stock(call: Call) -> dict[str, object]:
    """Every dish with a limited count, and the dishes sold out."""
    stock = await call.svc.store.stock(call.rid)
    return {"stock": stock, "sold_out": sorted(d for d, n in stock.items() if n <= 0)}
