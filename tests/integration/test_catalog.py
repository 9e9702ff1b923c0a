"""The menu in PostgreSQL and the demo seed."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from kitchen import catalog, demo, keys, tokens
from kitchen.model import TableStatus
from kitchen.settings import Settings
from kitchen.store import Store


async def test_a_saved_menu_loads_back_equal(pool: Any) -> None:
    """save_menu then load_menu gives the same dishes, sets, offers, tables and stock."""
    menu = demo.menu()
    async with pool.acquire() as conn:
        await catalog.save_menu(conn, menu, demo.STOCK)
        loaded, stock = await catalog.load_menu(conn, demo.RESTAURANT)
    assert stock == demo.STOCK
    assert sorted(loaded.dishes, key=lambda d: d.id) == sorted(menu.dishes, key=lambda d: d.id)
    assert set(loaded.set_meals) == set(menu.set_meals)
    assert loaded.offers == menu.offers and loaded.tables == menu.tables
    assert {s.id for s in loaded.stations} == {s.id for s in menu.stations}


async def test_seed_creates_the_demo_once_and_prints_working_tokens(
        pool: Any, redis: Redis, settings: Settings) -> None:
    """Seeding twice keeps one restaurant; every printed token verifies; A1 is seated."""
    urls = await demo.seed(pool, redis, settings)
    await demo.seed(pool, redis, settings)
    async with pool.acquire() as conn:
        assert await catalog.restaurant_ids(conn) == [demo.RESTAURANT]
    assert len(urls) == 7
    for url in urls.values():
        token = url.split("#token=")[-1].split("/t/")[-1]
        assert tokens.verify(token, settings.secret_keys).restaurant == demo.RESTAURANT
    table = (await Store(redis).tables(demo.RESTAURANT))[0]
    assert table.no == "A1" and table.status == TableStatus.OPEN
    assert await redis.sismember(keys.RESTAURANTS, demo.RESTAURANT)
