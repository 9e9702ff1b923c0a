"""The table's shared cart: every phone at the table edits one cart and sees every change
(CartChanged reaches the table's channel). Replace it whole, or change one item by a delta
so that two phones adding dishes at once both count."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from api import body
from api.commands import execute, need
from api.context import Call, Reply
from api.guards import seated
from api.limits import MAX_ITEMS, MAX_NOTE, MAX_QTY
from api.views import cart_view
from kitchen import ordering
from kitchen.errors import InvalidInput
from kitchen.events import CartChanged, CartItem
from kitchen.model import Menu
from kitchen.store import Reads, State, Tx


def empty_cart(tx: Tx, table_no: str) -> None:
    tx.put_cart(table_no, [])
    tx.emit(CartChanged(tx.r, table_no=table_no, items=()))


def move_cart(tx: Tx, source_no: str, source: list[dict[str, Any]], target_no: str,
              target: list[dict[str, Any]]) -> None:
    """转台 / 合桌: the moving guests' shared cart joins the target table's (the same item
    adds up, within the cart's limits); the source's is emptied."""
    if not source:
        return
    items = [CartItem.from_dict(i) for i in target]
    for item in (CartItem.from_dict(i) for i in source):
        at = next((n for n, i in enumerate(items)
                   if (i.dish_id, i.set_meal_id, i.note) == (item.dish_id, item.set_meal_id,
                                                              item.note)), None)
        if at is not None:
            items[at] = replace(items[at], qty=min(MAX_QTY, items[at].qty + item.qty))
        elif len(items) < MAX_ITEMS:
            items.append(item)
    empty_cart(tx, source_no)
    _put(tx, target_no, items)


def _put(tx: Tx, table_no: str, items: list[CartItem]) -> None:
    tx.put_cart(table_no, [i.to_dict() for i in items])
    tx.emit(CartChanged(tx.r, table_no=table_no, items=tuple(items)))


def _cart(state: State) -> list[CartItem]:
    return [CartItem.from_dict(i) for i in state.cart]


def _check_on_menu(menu: Menu, items: list[CartItem], now: int) -> None:
    """Unknown dishes or set meals are refused (404), as an order would refuse them."""
    ordering.build_lines(menu, [ordering.Item(qty=i.qty, dish_id=i.dish_id,
                                              set_meal_id=i.set_meal_id) for i in items], now, 1)


async def get_cart(call: Call) -> dict[str, Any]:
    """The table's cart, priced now, with availability."""
    table_no = call.param("table")
    state = await call.svc.store.read(call.rid, Reads(tables=[table_no], cart=table_no))
    assert isinstance(state, State)
    seated(call, state, table_no)
    stock = await call.svc.store.stock(call.rid)
    return cart_view(table_no, _cart(state), state.menu, stock, call.now)


def ordering_stock(menu: Menu, items: list[CartItem]) -> list[str]:
    """The dishes whose counts say whether the cart can be ordered (set meals' included)."""
    out = [i.dish_id for i in items if i.dish_id]
    for i in items:
        meal = menu.set_meal(i.set_meal_id) if i.set_meal_id else None
        out += [dish_id for dish_id, _ in meal.items] if meal else []
    return out


def _answer(state: State, table_no: str, items: list[CartItem], now: int) -> dict[str, Any]:
    """The cart as GET shows it (availability against the stock, read with the cart)."""
    need(state, stock=ordering_stock(state.menu, items))
    stock = {d: n for d, n in state.stock.items() if n is not None}
    return cart_view(table_no, items, state.menu, stock, now)


async def put_cart(call: Call) -> Reply:
    """Replace the whole cart (an empty list empties it)."""
    table_no = call.param("table")
    raw = call.body.get("items")
    parsed = () if raw == [] else ordering.parse_items(raw)
    items = [CartItem(i.dish_id, i.qty, i.note, i.set_meal_id) for i in parsed]

    def decide(state: State) -> Tx:
        seated(call, state, table_no)
        _check_on_menu(state.menu, items, call.now)
        tx = Tx(state)
        _put(tx, table_no, items)
        tx.response = _answer(state, table_no, items, call.now)
        return tx

    return await execute(call, Reads(tables=[table_no], cart=table_no), decide)


async def change_cart(call: Call) -> Reply:
    """Add (positive ``qty``) or take away (negative) one dish or set meal."""
    table_no = call.param("table")
    dish_id = body.optional_ident(call.body, "dish_id")
    set_id = body.optional_ident(call.body, "set_meal_id")
    if bool(dish_id) == bool(set_id):
        raise InvalidInput("give exactly one of dish_id or set_meal_id", field="dish_id")
    delta = body.integer(call.body, "qty", lo=-MAX_QTY, hi=MAX_QTY)
    if delta == 0:
        raise InvalidInput("qty must not be 0", field="qty")
    note = body.text(call.body, "note", max_len=MAX_NOTE, default="").strip()

    def decide(state: State) -> Tx:
        seated(call, state, table_no)
        items = _cart(state)
        key = (dish_id, set_id, note)
        at = next((n for n, i in enumerate(items)
                   if (i.dish_id, i.set_meal_id, i.note) == key), None)
        if at is None:
            if delta < 0:
                raise InvalidInput("that is not in the cart", field="qty")
            if len(items) >= MAX_ITEMS:
                raise InvalidInput(f"a cart holds at most {MAX_ITEMS} items", field="items")
            items.append(CartItem(dish_id, delta, note, set_id))
        else:
            qty = items[at].qty + delta
            if qty > MAX_QTY:
                raise InvalidInput(f"at most {MAX_QTY} of one item", field="qty")
            if qty <= 0:
                del items[at]
            else:
                items[at] = CartItem(dish_id, qty, note, set_id)
        if delta > 0:  # only what is added must be on the menu: the rest may have left it
            _check_on_menu(state.menu, [CartItem(dish_id, delta, note, set_id)], call.now)
        tx = Tx(state)
        _put(tx, table_no, items)
        tx.response = _answer(state, table_no, items, call.now)
        return tx

    return await execute(call, Reads(tables=[table_no], cart=table_no), decide)
