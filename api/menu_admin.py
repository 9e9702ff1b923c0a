"""Menu editing by the merchant: stations, categories, dishes (prices, stock), set meals,
time-limited offers.

An edit is applied to the live menu, written whole to PostgreSQL (:func:`kitchen.catalog.
save_menu`), then made live through the store: ``put_menu`` and a MenuChanged event with the
new version (plus StockChanged & co. when a dish's stock is set). Edits of one restaurant are
serialised by a PostgreSQL advisory lock held across both writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api import idempotency, menu_edit
from api.context import Call, Reply
from api.menu_edit import InUse
from api.stock import set_count
from kitchen import catalog
from kitchen.errors import NotFound
from kitchen.events import MenuChanged, StockChanged
from kitchen.model import DishStatus, Menu
from kitchen.store import Reads, State, Tx

Edit = Callable[[Menu], tuple[Menu, Any]]
LIVE = frozenset({DishStatus.HELD, DishStatus.QUEUED, DishStatus.COOKING, DishStatus.READY})


async def get_full_menu(call: Call) -> dict[str, Any]:
    """The whole menu (inactive dishes and every offer included), with stock counts."""
    menu = await call.svc.store.menu(call.rid)
    return {"menu": menu.to_dict(), "stock": await call.svc.store.stock(call.rid)}


async def _apply(call: Call, kind: str, edit: Edit, stock: tuple[str, bool, int | None]
                 = ("", False, None)) -> Reply:
    """Apply ``edit`` to the live menu, save it, make it live; answer the changed item."""
    dish_id, sets_stock, count = stock
    svc = call.svc

    async def produce() -> tuple[dict[str, Any], str]:
        async with svc.pool.acquire() as conn, conn.transaction():
            await conn.execute(svc.queries["api_menu_lock"], call.rid)
            current = await svc.store.menu(call.rid)
            new, item = edit(current)
            try:
                _, configured = await catalog.load_menu(conn, call.rid)
            except NotFound:
                configured = dict(await svc.store.stock(call.rid))
            if sets_stock:
                configured.pop(dish_id, None)
                if count is not None:
                    configured[dish_id] = count
            configured = {d: n for d, n in configured.items() if new.dish(d) is not None}
            await catalog.save_menu(conn, new, configured)

            def decide(state: State) -> Tx:
                tx = Tx(state)
                tx.put_menu(new)
                tx.emit(MenuChanged(call.rid, menu_version=new.version))
                if sets_stock:
                    set_count(tx, state, dish_id, count)
                elif dish_id and new.dish(dish_id) is None:  # a deleted dish keeps no count,
                    tx.put_stock(dish_id, None)  # in the history either (a rebuild reads it)
                    tx.emit(StockChanged(call.rid, dish_id=dish_id, remaining=None))
                return tx

            done = await svc.store.run(call.rid, Reads(stock=[dish_id] if dish_id else ()),
                                       decide)
        answer = {"version": new.version, kind: item.to_dict() if item is not None else None}
        if sets_stock:
            answer["stock"] = count
        return answer, done.pos

    return await idempotency.once(call, produce)


def _deleted(fn: Callable[[Menu, str], Menu], item_id: str) -> Edit:
    return lambda menu: (fn(menu, item_id), None)


async def put_station(call: Call) -> Reply:
    """Create or replace a station."""
    sid = call.param("station_id")
    return await _apply(call, "station", lambda m: menu_edit.put_station(m, sid, call.body))


async def delete_station(call: Call) -> Reply:
    """Delete a station no dish is cooked at, on the menu or on an open ticket (a dish moved
    to another station keeps its tickets where they were until they are done)."""
    sid = call.param("station_id")
    waiting = sorted({o.id for o in await call.svc.store.open_orders(call.rid)
                      for ln in o.lines if ln.station_id == sid and ln.status in LIVE})
    if waiting:
        raise InUse(f"{len(waiting)} open tickets still have dishes at this station; finish "
                    "them first", station=sid, orders=waiting[:20])
    return await _apply(call, "station", _deleted(menu_edit.delete_station, sid))


async def put_category(call: Call) -> Reply:
    """Create or replace a category."""
    cid = call.param("category_id")
    return await _apply(call, "category", lambda m: menu_edit.put_category(m, cid, call.body))


async def delete_category(call: Call) -> Reply:
    """Delete an empty category."""
    return await _apply(call, "category",
                        _deleted(menu_edit.delete_category, call.param("category_id")))


async def put_dish(call: Call) -> Reply:
    """Create or replace a dish; ``stock`` (a count or null) sets its stock too."""
    did = call.param("dish_id")
    sets, count = menu_edit.stock_field(call.body)
    return await _apply(call, "dish", lambda m: menu_edit.put_dish(m, did, call.body),
                        (did, sets, count))


async def patch_dish(call: Call) -> Reply:
    """Change some fields of a dish: its price, names, station, active flag, stock …"""
    did = call.param("dish_id")
    sets, count = menu_edit.stock_field(call.body)
    return await _apply(call, "dish", lambda m: menu_edit.patch_dish(m, did, call.body),
                        (did, sets, count))


async def delete_dish(call: Call) -> Reply:
    """Delete a dish (and its offers); refused while a set meal contains it."""
    did = call.param("dish_id")
    return await _apply(call, "dish", _deleted(menu_edit.delete_dish, did), (did, False, None))


async def put_set_meal(call: Call) -> Reply:
    """Create or replace a set meal (套餐)."""
    sid = call.param("set_id")
    return await _apply(call, "set_meal", lambda m: menu_edit.put_set_meal(m, sid, call.body))


async def delete_set_meal(call: Call) -> Reply:
    """Delete a set meal."""
    return await _apply(call, "set_meal",
                        _deleted(menu_edit.delete_set_meal, call.param("set_id")))


async def put_offer(call: Call) -> Reply:
    """Create or replace a time-limited price for a dish (限时特价)."""
    oid = call.param("offer_id")
    return await _apply(call, "offer", lambda m: menu_edit.put_offer(m, oid, call.body))


async def delete_offer(call: Call) -> Reply:
    """Delete an offer."""
    return await _apply(call, "offer", _deleted(menu_edit.delete_offer, call.param("offer_id")))
