"""The demo restaurant: a Nantong (南通, Jiangsu) kitchen with 40 dishes, 4 stations, 20 tables.

``menu()`` is pure data; :func:`seed` writes it to PostgreSQL and Redis once (first run) and
returns the URLs a person opens, with working tokens.
"""

from __future__ import annotations

import time
from typing import Any

from kitchen.model import Category, Dish, Menu, Offer, SetMeal, Station

RESTAURANT = "demo"

STATIONS = (
    Station("wok", "炒锅", "Wok", warn_after_s=300, late_after_s=480),
    Station("steam", "蒸炖", "Steam & braise", warn_after_s=600, late_after_s=900),
    Station("cold", "凉菜", "Cold kitchen", warn_after_s=180, late_after_s=300),
    Station("bar", "水吧", "Bar", warn_after_s=120, late_after_s=240),
    Station("expo", "传菜口", "Pass", is_expo=True, warn_after_s=300, late_after_s=600),
)

CATEGORIES = (
    Category("cold", "凉菜", "Cold dishes", 1),
    Category("river", "江鲜", "River food", 2),
    Category("wok", "热炒", "Wok dishes", 3),
    Category("stew", "炖菜汤品", "Stews & soups", 4),
    Category("staple", "点心主食", "Snacks & staples", 5),
    Category("drink", "饮品", "Drinks", 6),
)

# id, category, 中文, English, price in fen, station, tags, calories, allergens, target seconds
_DISHES: tuple[tuple[str, str, str, str, int, str, tuple[str, ...], int, tuple[str, ...], int],
               ...] = (
    ("d01", "cold", "南通醉虾", "Drunken river shrimp", 5800, "cold", ("酒香", "生食"), 180,
     ("shellfish", "alcohol"), 240),
    ("d02", "cold", "凉拌海蜇", "Jellyfish salad", 3800, "cold", ("酸甜",), 120, (), 240),
    ("d03", "cold", "盐水鹅", "Salted goose", 4800, "cold", ("咸鲜",), 420, (), 240),
    ("d04", "cold", "糖醋萝卜", "Sweet-sour radish", 1600, "cold", ("酸甜", "素"), 90, (), 180),
    ("d05", "cold", "皮蛋豆腐", "Century egg tofu", 1800, "cold", ("咸鲜",), 210,
     ("egg", "soy"), 180),
    ("d06", "cold", "蒜泥黄瓜", "Smashed cucumber", 1500, "cold", ("蒜香", "素"), 60, (), 180),
    ("d07", "cold", "香干马兰头", "Malan greens with tofu", 2200, "cold", ("清淡", "素"), 110,
     ("soy",), 180),
    ("d08", "river", "清蒸长江鲥鱼", "Steamed shad", 26800, "steam", ("清淡",), 380,
     ("fish",), 900),
    ("d09", "river", "红烧河豚", "Braised puffer fish", 32800, "steam", ("咸鲜",), 420,
     ("fish",), 1200),
    ("d10", "river", "白汁鮰鱼", "Longsnout catfish in white sauce", 16800, "steam",
     ("清淡",), 390, ("fish",), 900),
    ("d11", "river", "文蛤蒸蛋", "Steamed egg with clams", 4800, "steam", ("鲜",), 260,
     ("shellfish", "egg"), 600),
    ("d12", "river", "椒盐小黄鱼", "Salt-and-pepper croaker", 5800, "wok", ("椒盐", "微辣"),
     480, ("fish",), 480),
    ("d13", "river", "竹蛏炒韭菜", "Razor clams with chives", 6800, "wok", ("鲜",), 260,
     ("shellfish",), 420),
    ("d14", "river", "油爆河虾", "Crisp-fried river shrimp", 7800, "wok", ("咸甜",), 340,
     ("shellfish",), 420),
    ("d15", "wok", "狼山鸡炒板栗", "Langshan chicken with chestnut", 6800, "wok", ("咸鲜",),
     620, (), 600),
    ("d16", "wok", "松鼠鳜鱼", "Squirrel-shaped mandarin fish", 12800, "wok", ("酸甜",), 720,
     ("fish", "gluten"), 900),
    ("d17", "wok", "清炒虾仁", "Stir-fried shrimp", 8800, "wok", ("清淡",), 280,
     ("shellfish",), 420),
    ("d18", "wok", "宫保鸡丁", "Kung pao chicken", 4200, "wok", ("麻辣",), 560,
     ("peanut",), 420),
    ("d19", "wok", "蟹粉豆腐", "Tofu with crab roe", 6800, "wok", ("鲜",), 410,
     ("shellfish", "soy"), 480),
    ("d20", "wok", "干煸四季豆", "Dry-fried green beans", 2800, "wok", ("微辣", "素"), 240, (),
     360),
    ("d21", "wok", "蚝油生菜", "Lettuce in oyster sauce", 2200, "wok", ("清淡", "素"), 90,
     ("shellfish",), 240),
    ("d22", "wok", "红烧肉", "Red-braised pork belly", 5800, "steam", ("咸甜",), 890, (), 900),
    ("d23", "stew", "蟹粉狮子头", "Lion's head meatballs with crab", 8800, "steam", ("鲜",),
     640, ("shellfish", "gluten"), 1200),
    ("d24", "stew", "老鸭汤", "Old duck soup", 6800, "steam", ("清淡",), 450, (), 900),
    ("d25", "stew", "河蚌豆腐汤", "River mussel and tofu soup", 4800, "steam", ("鲜",), 320,
     ("shellfish", "soy"), 720),
    ("d26", "stew", "腌笃鲜", "Bamboo shoot and pork soup", 5800, "steam", ("咸鲜",), 520, (),
     900),
    ("d27", "stew", "文蛤汤", "Clam soup", 3800, "steam", ("鲜",), 180, ("shellfish",), 600),
    ("d28", "stew", "酸辣汤", "Hot and sour soup", 2200, "wok", ("酸辣",), 210,
     ("egg", "soy"), 300),
    ("d29", "staple", "南通脆饼", "Nantong crisp pastry", 1200, "steam", ("甜",), 380,
     ("gluten",), 300),
    ("d30", "staple", "西亭脆饼", "Xiting flaky cake", 1500, "steam", ("甜",), 420,
     ("gluten",), 300),
    ("d31", "staple", "蟹黄汤包", "Crab soup dumplings", 3800, "steam", ("鲜",), 460,
     ("shellfish", "gluten"), 600),
    ("d32", "staple", "扬州炒饭", "Yangzhou fried rice", 2800, "wok", ("咸鲜",), 650,
     ("egg",), 360),
    ("d33", "staple", "阳春面", "Yangchun noodles", 1800, "wok", ("清淡",), 420, ("gluten",),
     300),
    ("d34", "staple", "白米饭", "Steamed rice", 300, "steam", ("素",), 230, (), 60),
    ("d35", "drink", "酸梅汤", "Sour plum drink", 1200, "bar", ("酸甜",), 120, (), 120),
    ("d36", "drink", "菊花茶", "Chrysanthemum tea", 1800, "bar", ("清淡",), 10, (), 120),
    ("d37", "drink", "鲜榨西瓜汁", "Fresh watermelon juice", 2200, "bar", ("甜",), 140, (),
     180),
    ("d38", "drink", "黄酒(温)", "Warm yellow wine", 2800, "bar", ("酒香",), 180,
     ("alcohol",), 120),
    ("d39", "drink", "可乐", "Cola", 800, "bar", ("甜",), 140, (), 60),
    ("d40", "drink", "矿泉水", "Mineral water", 500, "bar", (), 0, (), 60),
)

STOCK = {"d08": 6, "d09": 4, "d31": 30, "d23": 12}
TABLES = tuple(f"A{n}" for n in range(1, 11)) + tuple(f"B{n}" for n in range(1, 11))


def dishes() -> tuple[Dish, ...]:
    return tuple(
        Dish(id=i, category_id=c, name_zh=zh, name_en=en, price_fen=p, station_id=s,
             photo=f"/media/dish/{i}.svg", tags=tags, calories=kcal, allergens=al, target_s=t)
        for (i, c, zh, en, p, s, tags, kcal, al, t) in _DISHES
    )


def menu(restaurant_id: str = RESTAURANT, now_ms: int | None = None) -> Menu:
    now = int(time.time() * 1000) if now_ms is None else now_ms
    day = 86_400_000
    return Menu(
        restaurant_id=restaurant_id,
        name_zh="江海小馆 · 南通菜",
        name_en="Jianghai Bistro · Nantong cuisine",
        stations=STATIONS,
        categories=CATEGORIES,
        dishes=dishes(),
        set_meals=(
            SetMeal("s1", "江鲜双人套餐", "River feast for two", 19800,
                    (("d10", 1), ("d13", 1), ("d27", 1), ("d34", 2))),
            SetMeal("s2", "午市工作餐", "Lunch set", 3800, (("d18", 1), ("d34", 1), ("d35", 1))),
        ),
        offers=(Offer("o1", "d16", 9900, now - day, now + 30 * day),),
        tables=TABLES,
        version=1,
    )


def staff_tokens_spec() -> list[dict[str, Any]]:
    """Tokens printed by ``make run`` for the demo (station screens, pass, merchant)."""
    return ([{"role": "station", "station": s.id} for s in STATIONS if not s.is_expo]
            + [{"role": "expo"}, {"role": "merchant"}])


async def seed(pool: Any, redis: Any, settings: Any) -> dict[str, str]:
    """Create the demo restaurant on first run (PostgreSQL, then its live state in Redis) and
    return the pages a person opens, with fresh tokens, by name."""
    from kitchen import catalog, tokens
    from kitchen.db import Queries
    from kitchen.store import Store

    q = Queries.load()
    async with pool.acquire() as conn:
        if await conn.fetchrow(q["catalog_restaurant"], RESTAURANT) is None:
            await catalog.save_menu(conn, menu(), STOCK)
        live_menu, stock = await catalog.load_menu(conn, RESTAURANT)
        store = Store(redis)
        if not await redis.exists(f"k:{{{RESTAURANT}}}:menu"):
            await store.install(live_menu, stock)
        else:
            await redis.sadd("k:restaurants", RESTAURANT)

        base = settings.public_api_url.rstrip("/")
        urls: dict[str, str] = {}

        async def grant(role: str, label: str, ttl: int, station: str = "",
                        table: str = "") -> str:
            token, claims = tokens.issue(settings.secret_keys, role, [RESTAURANT], ttl=ttl,
                                         station=station, table=table, name=label)
            await conn.execute(q["demo_insert_token"], RESTAURANT, claims.jti, role,
                               station or None, table or None, label, claims.exp)
            return token

        ttl = settings.token_ttl
        for s in live_menu.stations:
            if s.is_expo:
                urls["expo 传菜口"] = f"{base}/kds/expo#token={await grant('expo', s.name_zh, ttl)}"
            else:
                tok = await grant("station", s.name_zh, ttl, station=s.id)
                urls[f"station {s.id} {s.name_zh}"] = f"{base}/kds/station#token={tok}"
        merchant = await grant("merchant", "店长", ttl)
        urls["merchant 商家"] = f"{base}/merchant#token={merchant}"
        table = live_menu.tables[0]
        await _open_if_free(store, table)
        qr = await grant("qr", f"桌 {table}", 0, table=table)
        urls[f"diner table {table} 扫码点餐"] = f"{base}/t/{qr}"
        return urls


async def _open_if_free(store: Any, table_no: str) -> None:
    """Seat two guests at the demo table so its QR code works right away."""
    import uuid

    from kitchen import tables
    from kitchen.events import TableOpened, now_ms
    from kitchen.model import TableStatus
    from kitchen.store import Reads, State, Tx

    def decide(state: State) -> Tx:
        tx = Tx(state)
        table = state.table(table_no)
        if table.status == TableStatus.FREE:
            opened = tables.open_table(table, 2, uuid.uuid4().hex[:12], now_ms())
            tx.put_table(opened)
            tx.emit(TableOpened(RESTAURANT, table=opened))
        return tx

    await store.run(RESTAURANT, Reads(tables=[table_no]), decide)
