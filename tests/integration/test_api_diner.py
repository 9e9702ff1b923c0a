"""Diner commands over HTTP: session, menu, cart, order, 加菜, 退菜, 催菜, waiter, bill."""

from __future__ import annotations

import pytest

from kitchen import keys
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api


async def test_qr_token_gives_a_diner_session_while_the_table_is_open(api: Api) -> None:
    """A table's QR token is traded for a diner token bound to the table's current session."""
    table = await api.open_table("A1")
    res = await api.post("/api/diner/session", json={"qr": api.qr("A1")})
    assert res.status_code == 200
    body = res.json()
    assert body["table"] == "A1" and body["session"] == table["session"]
    assert "table:demo:A1" in body["channels"]


@pytest.mark.parametrize(("qr", "status", "code"), [
    ("", 422, "invalid_input"),
    ("not-a-token", 401, "unauthorized"),
    ("station", 401, "unauthorized"),
])
async def test_session_refuses_anything_but_a_qr_token(api: Api, qr: str, status: int,
                                                         code: str) -> None:
    """POST /api/diner/session refuses empty, malformed and non-QR tokens."""
    await api.open_table("A1")
    token = api.station("wok") if qr == "station" else qr
    res = await api.post("/api/diner/session", json={"qr": token})
    assert (res.status_code, res.json()["error"]["code"]) == (status, code)


async def test_qr_token_of_a_free_table_is_refused(api: Api) -> None:
    """A QR token of a table that is not open gets 403 table_closed."""
    res = await api.post("/api/diner/session", json={"qr": api.qr("A2")})
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "table_closed"


async def test_menu_shows_prices_offers_and_sold_out_marks(api: Api) -> None:
    """The menu carries today's offer price, photos, allergens and sold-out marks from stock."""
    diner = await api.diner("A1")
    await api.put("/api/r/demo/dishes/d09/stock", api.merchant, {"remaining": 0})
    menu = (await api.get("/api/r/demo/menu", diner)).json()
    dishes = {d["id"]: d for d in menu["dishes"]}
    assert dishes["d16"]["price_now_fen"] == 9900 and dishes["d16"]["offer"]["id"] == "o1"
    assert dishes["d09"]["sold_out"] and dishes["d09"]["remaining"] == 0
    assert dishes["d08"]["remaining"] == 6 and not dishes["d08"]["sold_out"]
    assert dishes["d01"]["allergens"] == ["shellfish", "alcohol"] and dishes["d01"]["photo"]
    assert {s["id"] for s in menu["set_meals"]} == {"s1", "s2"}
    assert [o["id"] for o in menu["offers"]] == ["o1"]


async def test_shared_cart_is_seen_by_every_phone_and_emits_cart_changed(api: Api) -> None:
    """Two phones at one table edit one cart; each change emits cart.changed."""
    phone1 = await api.diner("A1")
    phone2 = await api.diner("A1", seat=False)
    await api.post("/api/r/demo/tables/A1/cart/items", phone1, {"dish_id": "d01", "qty": 2})
    await api.post("/api/r/demo/tables/A1/cart/items", phone2, {"dish_id": "d01", "qty": 1})
    res = await api.post("/api/r/demo/tables/A1/cart/items", phone2,
                         {"set_meal_id": "s2", "qty": 1})
    assert res.status_code == 200
    cart = (await api.get("/api/r/demo/tables/A1/cart", phone1)).json()
    assert [(i["dish_id"] or i["set_meal_id"], i["qty"]) for i in cart["items"]] == [
        ("d01", 3), ("s2", 1)]
    assert cart["total_fen"] == 3 * 5800 + 3800
    assert (await api.events()).count("cart.changed") == 3


async def test_cart_replace_and_remove(api: Api) -> None:
    """PUT replaces the cart; a negative change removes items; an empty list empties it."""
    diner = await api.diner("A1")
    res = await api.put("/api/r/demo/tables/A1/cart", diner,
                        {"items": [{"dish_id": "d02", "qty": 2}]})
    assert res.json()["count"] == 2
    res = await api.post("/api/r/demo/tables/A1/cart/items", diner, {"dish_id": "d02", "qty": -2})
    assert res.json()["items"] == []
    res = await api.put("/api/r/demo/tables/A1/cart", diner, {"items": []})
    assert res.status_code == 200 and res.json()["count"] == 0


@pytest.mark.parametrize(("payload", "status"), [
    ({"dish_id": "nope", "qty": 1}, 404),
    ({"dish_id": "d01", "qty": 0}, 422),
    ({"dish_id": "d01", "qty": 21}, 422),
    ({"dish_id": "d01", "set_meal_id": "s1", "qty": 1}, 422),
    ({"dish_id": "d01", "qty": -1}, 422),
    ({"dish_id": "d01", "qty": 1, "note": "x" * 101}, 422),
])
async def test_cart_refuses_bad_items_and_changes_nothing(api: Api, payload: dict[str, object],
                                                          status: int) -> None:
    """A cart change with an unknown dish or an out-of-limit field is refused; nothing changes."""
    diner = await api.diner("A1")
    before = await api.log_len()
    res = await api.post("/api/r/demo/tables/A1/cart/items", diner, payload)
    assert res.status_code == status
    assert await api.log_len() == before
    assert not await api.redis.exists(keys.cart("demo", "A1"))


async def test_place_order_takes_stock_and_empties_the_cart(api: Api) -> None:
    """An order gets ticket number 1, takes stock, empties the cart and seats the table."""
    diner = await api.diner("A1")
    await api.post("/api/r/demo/tables/A1/cart/items", diner, {"dish_id": "d08", "qty": 1})
    res = await api.post("/api/r/demo/tables/A1/orders", diner,
                         {"items": [{"dish_id": "d08", "qty": 2, "note": "少盐"},
                                    {"set_meal_id": "s2"}, {"dish_id": "d35", "course": 2}]})
    assert res.status_code == 201
    body = res.json()
    order = body["order"]
    assert order["no"] == 1 and body["table"]["status"] == "ordering"
    assert [ln["status"] for ln in order["lines"]] == ["queued"] * 4 + ["held"]
    assert order["lines"][0]["note"] == "少盐" and body["pos"]
    assert int(await api.redis.hget(keys.stock("demo"), "d08")) == 4
    assert not await api.redis.exists(keys.cart("demo", "A1"))
    events = await api.events()
    assert events[-3:] == ["stock.changed", "order.placed", "cart.changed"]


async def test_sold_out_refusal_names_the_dish_and_changes_nothing(api: Api) -> None:
    """Ordering more than the stock is refused 409 sold_out, naming the dish."""
    diner = await api.diner("A1")
    before = await api.log_len()
    res = await api.post("/api/r/demo/tables/A1/orders", diner,
                         {"items": [{"dish_id": "d09", "qty": 5}]})
    assert res.status_code == 409
    err = res.json()["error"]
    assert err["code"] == "sold_out" and "红烧河豚" in err["reason"]
    assert err["details"] == {"dish_id": "d09", "remaining": 4}
    assert await api.log_len() == before
    assert int(await api.redis.hget(keys.stock("demo"), "d09")) == 4


async def test_last_portion_emits_dish_sold_out(api: Api) -> None:
    """Taking the last portions emits stock.changed 0 and dish.sold_out."""
    diner = await api.diner("A1")
    await api.order(diner, "A1", [{"dish_id": "d09", "qty": 4}])
    assert (await api.events())[-3:] == ["stock.changed", "dish.sold_out", "order.placed"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"items": []}, 422, "invalid_input"),
    ({"items": [{"dish_id": "d01", "qty": 0}]}, 422, "invalid_input"),
    ({"items": [{"dish_id": "d01", "qty": 21}]}, 422, "invalid_input"),
    ({"items": [{"dish_id": "d01", "qty": -3}]}, 422, "invalid_input"),
    ({"items": [{"dish_id": "d01", "qty": 1.5}]}, 422, "invalid_input"),
    ({"items": [{"dish_id": "d01", "note": "长" * 101}]}, 422, "invalid_input"),
    ({"items": [{"dish_id": "d01", "course": 9}]}, 422, "invalid_input"),
    ({"items": [{"dish_id": "d01"}] * 31}, 422, "invalid_input"),
    ({"items": [{"dish_id": "zz"}]}, 404, "not_found"),
    ({"items": [{"set_meal_id": "zz"}]}, 404, "not_found"),
    ({"items": "d01"}, 422, "invalid_input"),
    ({}, 422, "invalid_input"),
])
async def test_bad_orders_are_refused_and_change_nothing(api: Api, body: dict[str, object],
                                                         status: int, code: str) -> None:
    """Unknown dishes, empty, huge or negative quantities, long notes get 4xx; nothing changes."""
    diner = await api.diner("A1")
    before = await api.log_len()
    res = await api.post("/api/r/demo/tables/A1/orders", diner, body)
    assert (res.status_code, res.json()["error"]["code"]) == (status, code)
    assert await api.log_len() == before


async def test_malformed_json_gets_400(api: Api) -> None:
    """A body that is not JSON (or not an object, or holds NaN or infinity, which JSON has
    no numbers for) gets 400 malformed_json."""
    diner = await api.diner("A1")
    for content in (b"{items:", b"[1, 2]", b"\xff\xfe", b"[" * 30_000, b'"text"', b"NaN",
                    b'{"items": [{"dish_id": "d1", "qty": NaN}]}', b'{"tip": -Infinity}'):
        res = await api.post("/api/r/demo/tables/A1/orders", diner, content=content)
        assert res.status_code == 400 and res.json()["error"]["code"] == "malformed_json"


async def test_body_over_the_limit_gets_413(api: Api) -> None:
    """A body over 64 KiB is refused with 413 before it is parsed."""
    diner = await api.diner("A1")
    big = b'{"items": [], "pad": "' + b"x" * 70_000 + b'"}'
    res = await api.post("/api/r/demo/tables/A1/orders", diner, content=big)
    assert res.status_code == 413 and res.json()["error"]["code"] == "payload_too_large"


async def test_orders_per_table_are_rate_limited(settings: object, redis: object) -> None:
    """Past the per-table order limit in a window, orders get 429 with Retry-After."""
    from api.limits import Limits
    from tests.integration.api_fixtures import serving, whole_window

    await whole_window(need_s=10)
    async with serving(settings, redis, Limits(orders_per_table=2)) as api:  # type: ignore[arg-type]
        diner = await api.diner("A1")
        for _ in range(2):
            await api.order(diner, "A1", [{"dish_id": "d40"}])
        res = await api.post("/api/r/demo/tables/A1/orders", diner,
                             {"items": [{"dish_id": "d40"}]})
        assert res.status_code == 429 and res.json()["error"]["code"] == "rate_limited"
        assert int(res.headers["retry-after"]) >= 1


async def test_add_dishes_to_an_order(api: Api) -> None:
    """加菜 appends lines flagged added and emits order.lines_added."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    res = await api.post(f"/api/r/demo/orders/{order['id']}/lines", diner,
                         {"items": [{"dish_id": "d02", "qty": 2}]})
    assert res.status_code == 201
    body = res.json()
    assert body["line_ids"] == ["L2"]
    assert body["order"]["lines"][1]["added"] is True
    assert (await api.events())[-1] == "order.lines_added"


async def test_add_dishes_after_the_bill_reopens_it(api: Api) -> None:
    """加菜 after asking for the bill puts the table back to ordering: it cannot be cleared
    on the old bill; once the bill is asked for again it can, with the new dish on it."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    assert (await api.post("/api/r/demo/tables/A1/bill", diner)).status_code == 200
    res = await api.post(f"/api/r/demo/orders/{order['id']}/lines", diner,
                         {"items": [{"dish_id": "d02"}]})
    assert res.status_code == 201, res.text
    assert (await api.events())[-2:] == ["order.lines_added", "table.reopened"]
    bill = (await api.get("/api/r/demo/tables/A1/bill", diner)).json()
    assert bill["status"] == "ordering", bill
    res = await api.post("/api/r/demo/tables/A1/clear", api.merchant)
    assert (res.status_code, res.json()["error"]["code"]) == (409, "illegal_transition")
    assert (await api.post("/api/r/demo/tables/A1/bill", diner)).status_code == 200
    bill = (await api.get("/api/r/demo/tables/A1/bill", diner)).json()
    assert bill["status"] == "paying"
    assert [ln["dish_id"] for ln in bill["lines"]] == ["d01", "d02"]
    assert (await api.post("/api/r/demo/tables/A1/clear", api.merchant)).status_code == 200


async def test_add_dishes_to_an_order_of_the_guests_before_is_refused(api: Api) -> None:
    """Even a merchant cannot add to an order of guests who paid and left: it is on no
    one's bill. Nothing is taken from stock."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    await api.post("/api/r/demo/tables/A1/bill", diner)
    assert (await api.post("/api/r/demo/tables/A1/clear", api.merchant)).status_code == 200
    await api.open_table("A1")
    before = await api.events()
    res = await api.post(f"/api/r/demo/orders/{order['id']}/lines", api.merchant,
                         {"items": [{"dish_id": "d02"}]})
    assert (res.status_code, res.json()["error"]["code"]) == (409, "illegal_transition")
    assert "present guests" in res.json()["error"]["reason"]
    assert await api.events() == before


async def test_add_dishes_refused_when_sold_out(api: Api) -> None:
    """加菜 takes stock too: more than the stock is refused sold_out."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    res = await api.post(f"/api/r/demo/orders/{order['id']}/lines", diner,
                         {"items": [{"dish_id": "d08", "qty": 7}]})
    assert res.status_code == 409 and res.json()["error"]["code"] == "sold_out"


async def test_return_of_a_queued_dish_is_granted_at_once(api: Api) -> None:
    """退菜 of a queued dish returns it at once (dish.returned) and it costs nothing."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}, {"dish_id": "d02"}])
    res = await api.post(f"/api/r/demo/orders/{order['id']}/lines/L1/return", diner)
    assert res.status_code == 200 and res.json()["granted"] is True
    assert res.json()["order"]["lines"][0]["status"] == "returned"
    assert (await api.events())[-1] == "dish.returned"
    bill = (await api.get("/api/r/demo/tables/A1/bill", diner)).json()
    assert bill["total_fen"] == 3800 and bill["returned_fen"] == 5800


async def test_return_of_a_cooking_dish_waits_for_approval(api: Api) -> None:
    """退菜 of a cooking dish only flags it (dish.return_requested); asking twice is 409."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    await api.post(f"/api/r/demo/orders/{order['id']}/lines/L1/start", api.station("cold"))
    res = await api.post(f"/api/r/demo/orders/{order['id']}/lines/L1/return", diner)
    assert res.json()["granted"] is False
    assert res.json()["order"]["lines"][0]["return_requested"] is True
    assert (await api.events())[-1] == "dish.return_requested"
    again = await api.post(f"/api/r/demo/orders/{order['id']}/lines/L1/return", diner)
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"


@pytest.mark.parametrize("status", ["served", "returned", "voided"])
async def test_return_refused_for_dishes_past_the_kitchen(api: Api, status: str) -> None:
    """A served, returned or voided dish cannot be returned (409 illegal_transition)."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    base = f"/api/r/demo/orders/{order['id']}/lines/L1"
    steps = {"served": ["ready", "serve"], "returned": ["return"], "voided": ["void"]}[status]
    for step in steps:
        who = diner if step == "return" else api.expo
        assert (await api.post(f"{base}/{step}", who)).status_code == 200
    res = await api.post(f"{base}/return", diner)
    assert res.status_code == 409 and res.json()["error"]["code"] == "illegal_transition"


async def test_urge_is_rate_limited_by_the_rule(api: Api) -> None:
    """催菜 works once, then 429 within the minute; a ready dish cannot be urged (409)."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}, {"dish_id": "d02"}])
    base = f"/api/r/demo/orders/{order['id']}/lines"
    res = await api.post(f"{base}/L1/urge", diner)
    assert res.status_code == 200 and res.json()["order"]["lines"][0]["urges"] == 1
    assert (await api.events())[-1] == "dish.urged"
    again = await api.post(f"{base}/L1/urge", diner)
    assert again.status_code == 429 and again.json()["error"]["code"] == "rate_limited"
    await api.post(f"{base}/L2/ready", api.expo)
    ready = await api.post(f"{base}/L2/urge", diner)
    assert ready.status_code == 409


async def test_call_waiter(api: Api) -> None:
    """A diner calls a waiter; the table records when and table.waiter_called is emitted."""
    diner = await api.diner("A1")
    res = await api.post("/api/r/demo/tables/A1/waiter", diner, {"reason": "加水"})
    assert res.status_code == 200 and res.json()["table"]["waiter_called_at"] > 0
    assert (await api.events())[-1] == "table.waiter_called"


async def test_bill_and_request_bill(api: Api) -> None:
    """The bill sums every order; asking for it turns the table to paying."""
    diner = await api.diner("A1")
    await api.order(diner, "A1", [{"dish_id": "d01", "qty": 2}])
    await api.order(diner, "A1", [{"set_meal_id": "s2"}])
    bill = (await api.get("/api/r/demo/tables/A1/bill", diner)).json()
    assert bill["total_fen"] == 2 * 5800 + 3800 and len(bill["orders"]) == 2
    res = await api.post("/api/r/demo/tables/A1/bill", diner)
    assert res.status_code == 200
    assert res.json()["table"]["status"] == "paying"
    assert res.json()["bill"]["total_fen"] == bill["total_fen"]
    assert (await api.events())[-1] == "table.bill_requested"


async def test_bill_before_any_order_is_refused(api: Api) -> None:
    """Asking for the bill of a table that ordered nothing is 409 illegal_transition."""
    diner = await api.diner("A1")
    res = await api.post("/api/r/demo/tables/A1/bill", diner)
    assert res.status_code == 409 and res.json()["error"]["code"] == "illegal_transition"


async def test_merchant_may_order_for_any_table(api: Api) -> None:
    """A merchant token places an order for a seated table (a waiter ordering for guests)."""
    await api.open_table("B3")
    order = await api.order(api.merchant, "B3", [{"dish_id": "d40"}])
    assert order["table_no"] == "B3"


async def test_order_at_a_free_table_is_refused(api: Api) -> None:
    """An order for a table nobody was seated at is 409 illegal_transition."""
    res = await api.post("/api/r/demo/tables/B3/orders", api.merchant,
                         {"items": [{"dish_id": "d40"}]})
    assert res.status_code == 409 and res.json()["error"]["code"] == "illegal_transition"


async def test_unknown_order_table_and_restaurant_get_404(api: Api) -> None:
    """Unknown orders, tables and restaurants are 404 not_found."""
    await api.open_table("A1")
    cases = [
        ("POST", "/api/r/demo/orders/nope/lines/L1/urge", api.merchant),
        ("POST", "/api/r/demo/tables/Z9/orders", api.merchant),
        ("GET", "/api/r/ghost/menu", api.token("merchant", "ghost")),
    ]
    for method, path, token in cases:
        res = await api.call(method, path, token, {"items": [{"dish_id": "d01"}]})
        assert res.status_code == 404, (path, res.text)
        assert res.json()["error"]["code"] == "not_found"


async def test_cart_answer_marks_sold_out_items_unavailable(api: Api) -> None:
    """A cart change answers the cart as GET shows it: a sold-out dish is unavailable."""
    diner = await api.diner("A1")
    await api.put("/api/r/demo/dishes/d09/stock", api.merchant, {"remaining": 0})
    res = await api.post("/api/r/demo/tables/A1/cart/items", diner, {"dish_id": "d09", "qty": 1})
    assert res.json()["items"][0]["available"] is False and res.json()["total_fen"] == 0
    shown = (await api.get("/api/r/demo/tables/A1/cart", diner)).json()
    assert shown == {k: v for k, v in res.json().items() if k != "pos"}
