"""The menu in PostgreSQL: written whole, read whole.

PostgreSQL is where a restaurant's menu lives durably; Redis holds the live copy
(:meth:`kitchen.store.Store.install`). Stock counts here are the configured starting counts
(``NULL`` = unlimited); the live counts are in Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitchen.db import Queries
from kitchen.errors import NotFound
from kitchen.model import Category, Dish, Menu, Offer, SetMeal, Station

if TYPE_CHECKING:
    from kitchen.db import AnyConnection

_Q = Queries.load()


async def save_menu(conn: AnyConnection, menu: Menu, stock: dict[str, int]) -> None:
    """Replace the restaurant's whole menu (one transaction)."""
    r = menu.restaurant_id
    async with conn.transaction():
        await conn.execute(_Q["catalog_upsert_restaurant"], r, menu.name_zh, menu.name_en,
                           menu.version)
        await conn.execute(_Q["catalog_clear"], r)
        await conn.executemany(_Q["catalog_insert_station"], [
            (r, s.id, s.name_zh, s.name_en, s.is_expo, s.warn_after_s, s.late_after_s, s.printer)
            for s in menu.stations])
        await conn.executemany(_Q["catalog_insert_table"], [
            (r, no, 4, n) for n, no in enumerate(menu.tables)])
        await conn.executemany(_Q["catalog_insert_category"], [
            (r, c.id, c.name_zh, c.name_en, c.sort) for c in menu.categories])
        await conn.executemany(_Q["catalog_insert_dish"], [
            (r, d.id, d.category_id, d.name_zh, d.name_en, d.price_fen, d.station_id, d.photo,
             list(d.tags), d.calories, list(d.allergens), d.target_s, d.active,
             d.description_zh, d.description_en, stock.get(d.id))
            for d in menu.dishes])
        await conn.executemany(_Q["catalog_insert_set_meal"], [
            (r, s.id, s.name_zh, s.name_en, s.price_fen, [list(i) for i in s.items], s.photo,
             s.active) for s in menu.set_meals])
        await conn.executemany(_Q["catalog_insert_offer"], [
            (r, o.id, o.dish_id, o.price_fen, o.starts_at, o.ends_at, o.label_zh, o.label_en)
            for o in menu.offers])


async def load_menu(conn: AnyConnection, restaurant_id: str) -> tuple[Menu, dict[str, int]]:
    """The menu and the configured stock counts; NotFound for an unknown restaurant."""
    r = restaurant_id
    head = await conn.fetchrow(_Q["catalog_restaurant"], r)
    if head is None:
        raise NotFound(f"no restaurant {r!r}", restaurant_id=r)
    dishes = await conn.fetch(_Q["catalog_dishes"], r)

    def row(rec: Any) -> dict[str, Any]:
        return dict(rec)

    menu = Menu(
        restaurant_id=r,
        name_zh=head["name_zh"],
        name_en=head["name_en"],
        stations=tuple(Station.from_dict(row(s)) for s in await conn.fetch(
            _Q["catalog_stations"], r)),
        categories=tuple(Category.from_dict(row(c)) for c in await conn.fetch(
            _Q["catalog_categories"], r)),
        dishes=tuple(Dish.from_dict(row(d)) for d in dishes),
        set_meals=tuple(SetMeal.from_dict(row(s)) for s in await conn.fetch(
            _Q["catalog_set_meals"], r)),
        offers=tuple(Offer.from_dict(row(o)) for o in await conn.fetch(_Q["catalog_offers"], r)),
        tables=tuple(t["no"] for t in await conn.fetch(_Q["catalog_tables"], r)),
        version=head["menu_version"],
    )
    stock = {d["id"]: d["stock"] for d in dishes if d["stock"] is not None}
    return menu, stock


async def restaurant_ids(conn: AnyConnection) -> list[str]:
    return [r["id"] for r in await conn.fetch(_Q["catalog_restaurant_ids"])]
