"""Menu editing over HTTP: every change is saved to PostgreSQL and made live with a new
menu version."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kitchen import catalog
from kitchen.db import create_pool
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api

DISH = {"name_zh": "清炒时蔬", "name_en": "Greens", "category_id": "wok",
        "station_id": "wok", "price_fen": 2600, "tags": ["素"], "allergens": [],
        "calories": 80, "target_s": 300}


async def _saved(api_db: Api) -> tuple[Any, dict[str, int]]:
    assert api_db.settings.database_url is not None
    pool = await create_pool(api_db.settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await catalog.load_menu(conn, "demo")
    finally:
        await pool.close()


async def test_new_dish_is_saved_and_live_with_a_new_version(api_db: Api) -> None:
    """A new dish is written to PostgreSQL, shown on the menu, and menu.changed carries the
    new version; its stock is set with it."""
    res = await api_db.put("/api/r/demo/admin/dishes/d41", api_db.merchant, {**DISH, "stock": 3})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["version"] == 2 and body["dish"]["id"] == "d41" and body["stock"] == 3
    assert "menu.changed" in await api_db.events()
    menu = (await api_db.get("/api/r/demo/menu", api_db.merchant)).json()
    assert menu["version"] == 2
    dish = next(d for d in menu["dishes"] if d["id"] == "d41")
    assert dish["remaining"] == 3 and dish["price_now_fen"] == 2600
    saved, stock = await _saved(api_db)
    assert saved.version == 2 and saved.dish("d41") is not None and stock["d41"] == 3
    diner = await api_db.diner("A1")
    order = await api_db.order(diner, "A1", [{"dish_id": "d41", "qty": 3}])
    assert order["lines"][0]["name_zh"] == "清炒时蔬"


async def test_price_change_applies_to_the_next_order(api_db: Api) -> None:
    """PATCH of a price changes what the next order costs; earlier orders keep theirs."""
    diner = await api_db.diner("A1")
    before = await api_db.order(diner, "A1", [{"dish_id": "d40"}])
    res = await api_db.call("PATCH", "/api/r/demo/admin/dishes/d40", api_db.merchant,
                         {"price_fen": 600})
    assert res.status_code == 200 and res.json()["dish"]["price_fen"] == 600
    after = await api_db.order(diner, "A1", [{"dish_id": "d40"}])
    assert before["lines"][0]["unit_price_fen"] == 500
    assert after["lines"][0]["unit_price_fen"] == 600


async def test_inactive_dish_leaves_the_menu_and_cannot_be_ordered(api_db: Api) -> None:
    """A dish made inactive disappears from the diner menu and is 404 when ordered."""
    await api_db.call("PATCH", "/api/r/demo/admin/dishes/d40", api_db.merchant, {"active": False})
    diner = await api_db.diner("A1")
    menu = (await api_db.get("/api/r/demo/menu", diner)).json()
    assert "d40" not in {d["id"] for d in menu["dishes"]}
    res = await api_db.post("/api/r/demo/tables/A1/orders", diner, {"items": [{"dish_id": "d40"}]})
    assert res.status_code == 404
    full = (await api_db.get("/api/r/demo/admin/menu", api_db.merchant)).json()
    assert any(d["id"] == "d40" and not d["active"] for d in full["menu"]["dishes"])


async def test_a_dish_leaving_the_menu_does_not_lock_the_carts_holding_it(
        api_db: Api) -> None:
    """A cart holding a dish that is then taken off the menu shows it unavailable; the
    diners can still add other dishes and take that one away, but not add more of it."""
    diner = await api_db.diner("A1")
    items = "/api/r/demo/tables/A1/cart/items"
    assert (await api_db.post(items, diner, {"dish_id": "d40", "qty": 2})).status_code == 200
    await api_db.call("PATCH", "/api/r/demo/admin/dishes/d40", api_db.merchant, {"active": False})
    res = await api_db.post(items, diner, {"dish_id": "d01", "qty": 1})
    assert res.status_code == 200, res.text
    shown = {i["dish_id"]: i for i in res.json()["items"]}
    assert shown["d40"]["available"] is False and shown["d01"]["qty"] == 1
    res = await api_db.post(items, diner, {"dish_id": "d40", "qty": 1})
    assert res.status_code == 404
    res = await api_db.post(items, diner, {"dish_id": "d40", "qty": -2})
    assert res.status_code == 200, res.text
    assert [i["dish_id"] for i in res.json()["items"]] == ["d01"]


async def test_stations_categories_set_meals_and_offers(api_db: Api) -> None:
    """Stations, categories, set meals and offers are created and deleted in turn."""
    now = int(time.time() * 1000)
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", "stations/grill", {"name_zh": "烧烤", "name_en": "Grill"}),
        ("PUT", "categories/bbq", {"name_zh": "烧烤", "sort": 7}),
        ("PUT", "dishes/g1", {**DISH, "category_id": "bbq", "station_id": "grill"}),
        ("PUT", "set-meals/s9", {"name_zh": "烧烤套餐", "price_fen": 3000,
                                 "items": [["g1", 2], ["d40", 1]]}),
        ("PUT", "offers/o9", {"dish_id": "g1", "price_fen": 1999, "starts_at": now - 1000,
                              "ends_at": now + 60_000}),
    ]
    for method, path, body in steps:
        res = await api_db.call(method, f"/api/r/demo/admin/{path}", api_db.merchant, body)
        assert res.status_code == 200, (path, res.text)
    menu = (await api_db.get("/api/r/demo/menu", api_db.merchant)).json()
    g1 = next(d for d in menu["dishes"] if d["id"] == "g1")
    assert g1["price_now_fen"] == 1999 and g1["offer"]["id"] == "o9"
    assert any(s["id"] == "s9" for s in menu["set_meals"]) and menu["version"] == 6
    for path in ("offers/o9", "set-meals/s9", "dishes/g1", "categories/bbq", "stations/grill"):
        res = await api_db.call("DELETE", f"/api/r/demo/admin/{path}", api_db.merchant)
        assert res.status_code == 200, (path, res.text)
    saved, _ = await _saved(api_db)
    assert saved.version == 11 and saved.station("grill") is None and saved.dish("g1") is None


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("DELETE", "stations/wok", None, 409, "in_use"),
    ("DELETE", "categories/wok", None, 409, "in_use"),
    ("DELETE", "dishes/d18", None, 409, "in_use"),
    ("DELETE", "dishes/nope", None, 404, "not_found"),
    ("PUT", "dishes/x1", {**DISH, "category_id": "nope"}, 422, "invalid_input"),
    ("PUT", "dishes/x1", {**DISH, "station_id": "expo"}, 422, "invalid_input"),
    ("PUT", "dishes/x1", {**DISH, "price_fen": -1}, 422, "invalid_input"),
    ("PUT", "dishes/x1", {**DISH, "name_zh": ""}, 422, "invalid_input"),
    ("PUT", "dishes/x1", {**DISH, "stock": -2}, 422, "invalid_input"),
    ("PUT", "dishes/bad id", DISH, 422, "invalid_input"),
    ("PATCH", "dishes/d40", {"id": "d99"}, 422, "invalid_input"),
    ("PATCH", "dishes/d40", {"colour": "red"}, 422, "invalid_input"),
    ("PATCH", "dishes/nope", {"price_fen": 1}, 404, "not_found"),
    ("PUT", "set-meals/s9", {"name_zh": "x", "price_fen": 1, "items": [["nope", 1]]}, 422,
     "invalid_input"),
    ("PUT", "set-meals/s9", {"name_zh": "x", "price_fen": 1, "items": []}, 422,
     "invalid_input"),
    ("PUT", "set-meals/s9", {"name_zh": "x", "price_fen": 1,
                             "items": [["d01", 1], ["d02", 1], ["d01", 1]]}, 422,
     "invalid_input"),
    ("PUT", "offers/o9", {"dish_id": "d01", "price_fen": 1, "starts_at": 5, "ends_at": 5},
     422, "invalid_input"),
    ("PUT", "stations/wok", {"name_zh": "炒锅", "is_expo": True}, 409, "in_use"),
    ("PUT", "stations/s2", {"name_zh": "x", "warn_after_s": 100, "late_after_s": 50}, 422,
     "invalid_input"),
    ("PUT", "stations/s2", {"name_zh": "x", "printer": "not a printer"}, 422,
     "invalid_input"),
    ("PUT", "stations/s2", {"name_zh": "x", "printer": "10.0.0.5:99999"}, 422,
     "invalid_input"),
])
async def test_bad_menu_edits_are_refused_and_change_nothing(
        api_db: Api, method: str, path: str, body: Any, status: int, code: str) -> None:
    """Menu edits that break the menu's integrity or limits are refused; nothing changes."""
    res = await api_db.call(method, f"/api/r/demo/admin/{path}", api_db.merchant, body)
    assert res.status_code == status, res.text
    assert res.json()["error"]["code"] == code
    menu = (await api_db.get("/api/r/demo/menu", api_db.merchant)).json()
    assert menu["version"] == 1 and await api_db.log_len() == 0


async def test_a_station_with_dishes_on_open_tickets_is_not_deleted(api_db: Api) -> None:
    """The wok's dishes move to the steam station, but a ticket still has a wok dish
    cooking: deleting the wok is refused (its tablet is the only one that shows that dish)
    until the ticket is done."""
    waiter = api_db.merchant
    await api_db.open_table("A1")
    order = await api_db.order(waiter, "A1", [{"dish_id": "d18"}])
    menu = (await api_db.get("/api/r/demo/admin/menu", waiter)).json()["menu"]
    for dish in menu["dishes"]:
        if dish["station_id"] == "wok":
            res = await api_db.call("PATCH", f"/api/r/demo/admin/dishes/{dish['id']}", waiter,
                                    {"station_id": "steam"})
            assert res.status_code == 200, res.text
    res = await api_db.call("DELETE", "/api/r/demo/admin/stations/wok", waiter)
    assert (res.status_code, res.json()["error"]["code"]) == (409, "in_use")
    assert res.json()["error"]["details"]["orders"] == [order["id"]]
    assert (await api_db.get("/api/r/demo/stations/wok/tickets", waiter)).status_code == 200
    for action in ("bump", "serve"):
        res = await api_db.post(f"/api/r/demo/orders/{order['id']}/{action}", waiter, {})
        assert res.status_code == 200, res.text
    res = await api_db.call("DELETE", "/api/r/demo/admin/stations/wok", waiter)
    assert res.status_code == 200, res.text


async def test_a_deleted_dish_leaves_no_count_behind(api_db: Api) -> None:
    """A dish sold out and then deleted records 'no count' in the log, so neither the live
    state nor a rebuild from the history shows it sold out again."""
    res = await api_db.put("/api/r/demo/dishes/d40/stock", api_db.merchant, {"remaining": 0})
    assert res.status_code == 200, res.text
    res = await api_db.call("DELETE", "/api/r/demo/admin/dishes/d40", api_db.merchant)
    assert res.status_code == 200, res.text
    stock = (await api_db.get("/api/r/demo/stock", api_db.merchant)).json()
    assert "d40" not in stock["stock"] and "d40" not in stock["sold_out"]
    events = await api_db.events()
    assert events[-2:] == ["menu.changed", "stock.changed"], events


async def test_a_cart_set_meal_whose_dish_is_short_is_unavailable(api_db: Api) -> None:
    """The lunch set holds one 清炒时蔬 (d34); with none left the cart marks the set
    unavailable and leaves it out of the total, as an order would refuse it."""
    diner = await api_db.diner("A1")
    items = "/api/r/demo/tables/A1/cart/items"
    res = await api_db.post(items, diner, {"set_meal_id": "s2", "qty": 1})
    assert res.status_code == 200 and res.json()["items"][0]["available"] is True
    await api_db.put("/api/r/demo/dishes/d34/stock", api_db.merchant, {"remaining": 0})
    cart = (await api_db.get("/api/r/demo/tables/A1/cart", diner)).json()
    assert cart["items"][0]["available"] is False and cart["total_fen"] == 0
    res = await api_db.post(items, diner, {"dish_id": "d01", "qty": 1})
    shown = {i.get("set_meal_id") or i["dish_id"]: i for i in res.json()["items"]}
    assert shown["s2"]["available"] is False


async def test_only_merchants_edit_the_menu(api_db: Api) -> None:
    """Kitchen and diner tokens cannot edit the menu (403)."""
    diner = await api_db.diner("A1")
    for token in (diner, api_db.station("wok"), api_db.expo):
        res = await api_db.put("/api/r/demo/admin/dishes/d41", token, DISH)
        assert res.status_code == 403
