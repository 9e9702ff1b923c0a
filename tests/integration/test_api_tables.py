"""Merchant table commands over HTTP: open, transfer, merge, clear — legal and illegal — and
what they do to diner tokens."""

from __future__ import annotations

import pytest

from kitchen import keys
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api

# how to bring table A1 into each status
STATES = ("free", "open", "ordering", "paying")


async def _table_in(api: Api, status: str, table: str = "A1") -> None:
    if status == "free":
        return
    diner = await api.diner(table)
    if status in ("ordering", "paying"):
        await api.order(diner, table, [{"dish_id": "d40"}])
    if status == "paying":
        assert (await api.post(f"/api/r/demo/tables/{table}/bill", diner)).status_code == 200


# command → (path suffix, body, statuses of A1 it is legal from); the other table (B1) is
# free for transfer and open for merge
COMMANDS = {
    "open": ("open", {"guests": 2}, {"free"}),
    "clear": ("clear", None, {"open", "paying"}),
    "transfer": ("transfer", {"to": "B1"}, {"open", "ordering", "paying"}),
    "merge": ("merge", {"into": "B1"}, {"open", "ordering", "paying"}),
    "waiter": ("waiter", None, {"open", "ordering", "paying"}),
    "bill": ("bill", None, {"ordering", "paying"}),
}


@pytest.mark.parametrize(("command", "status"),
                         [(c, s) for c in COMMANDS for s in STATES])
async def test_every_table_command_from_every_status(api: Api, command: str,
                                                     status: str) -> None:
    """Table commands follow the table machine: legal moves answer 200, illegal ones 409
    illegal_transition and change nothing."""
    await _table_in(api, status)
    if command == "merge":
        await api.open_table("B1")
    suffix, body, legal = COMMANDS[command]
    before = await api.redis.hgetall(keys.tables("demo"))
    log_before = await api.log_len()
    res = await api.post(f"/api/r/demo/tables/A1/{suffix}", api.merchant, body)
    if status in legal:
        assert res.status_code == 200, res.text
        assert await api.log_len() > log_before
    else:
        assert res.status_code == 409, res.text
        assert res.json()["error"]["code"] == "illegal_transition"
        assert await api.redis.hgetall(keys.tables("demo")) == before
        assert await api.log_len() == log_before


@pytest.mark.parametrize(("command", "body"), [
    ("transfer", {"to": "A1"}), ("merge", {"into": "A1"}),
])
async def test_transfer_or_merge_onto_itself_is_refused(api: Api, command: str,
                                                        body: dict[str, str]) -> None:
    """A table cannot be transferred to, or merged with, itself (422)."""
    await _table_in(api, "ordering")
    res = await api.post(f"/api/r/demo/tables/A1/{command}", api.merchant, body)
    assert res.status_code == 422


async def test_transfer_onto_a_seated_table_is_refused(api: Api) -> None:
    """Transferring onto a table that is not free is 409."""
    await _table_in(api, "ordering")
    await api.open_table("B1")
    res = await api.post("/api/r/demo/tables/A1/transfer", api.merchant, {"to": "B1"})
    assert res.status_code == 409


async def test_merge_into_a_free_table_is_refused(api: Api) -> None:
    """Merging into a free table is 409 (transfer is the command for that)."""
    await _table_in(api, "ordering")
    res = await api.post("/api/r/demo/tables/A1/merge", api.merchant, {"into": "B1"})
    assert res.status_code == 409


@pytest.mark.parametrize(("body", "status"), [
    ({"guests": 0}, 422), ({"guests": 61}, 422), ({"guests": "2"}, 422), ({}, 422),
])
async def test_open_refuses_bad_guest_counts(api: Api, body: dict[str, object],
                                             status: int) -> None:
    """Opening a table needs 1 to 60 guests."""
    res = await api.post("/api/r/demo/tables/A1/open", api.merchant, body)
    assert res.status_code == status and await api.log_len() == 0


async def test_transfer_moves_orders_and_ends_the_old_session(api: Api) -> None:
    """转台 moves the orders to the new table under a new session; old diner tokens die."""
    diner = await api.diner("A1")
    order = await api.order(diner, "A1", [{"dish_id": "d01"}])
    res = await api.post("/api/r/demo/tables/A1/transfer", api.merchant, {"to": "B1"})
    assert res.status_code == 200
    source, target = res.json()["source"], res.json()["target"]
    assert source["status"] == "free" and target["order_ids"] == [order["id"]]
    assert (await api.live_order(order["id"]))["table_no"] == "B1"
    old = await api.get("/api/r/demo/tables/A1/bill", diner)
    assert old.status_code == 401 and old.json()["error"]["code"] == "session_ended"
    new_diner = await api.diner("B1", seat=False)
    bill = (await api.get("/api/r/demo/tables/B1/bill", new_diner)).json()
    assert bill["total_fen"] == 5800
    assert (await api.events())[-1] == "table.transferred"


async def test_merge_joins_orders_and_guests(api: Api) -> None:
    """合桌 moves the source's orders and guests to the target; the source is free."""
    a1 = await api.diner("A1")
    await api.order(a1, "A1", [{"dish_id": "d01"}])
    b1 = await api.diner("B1")
    await api.order(b1, "B1", [{"dish_id": "d02"}])
    res = await api.post("/api/r/demo/tables/A1/merge", api.merchant, {"into": "B1"})
    target = res.json()["target"]
    assert target["guests"] == 4 and len(target["order_ids"]) == 2
    assert target["merged_from"] == ["A1"]
    assert (await api.get("/api/r/demo/tables/A1/cart", a1)).status_code == 401
    bill = (await api.get("/api/r/demo/tables/B1/bill", b1)).json()
    assert bill["total_fen"] == 5800 + 3800


async def test_the_moving_guests_cart_goes_with_them(api: Api) -> None:
    """转台 takes A1's shared cart to B2; 合桌 then adds it to B1's, the same dish adding up.
    The table left behind has no cart."""
    a1 = await api.diner("A1")
    items = "/api/r/demo/tables/{}/cart/items"
    await api.post(items.format("A1"), a1, {"dish_id": "d01", "qty": 2})
    await api.post(items.format("A1"), a1, {"dish_id": "d02", "qty": 1})
    res = await api.post("/api/r/demo/tables/A1/transfer", api.merchant, {"to": "B2"})
    assert res.status_code == 200, res.text
    b2 = await api.diner("B2", seat=False)
    cart = (await api.get("/api/r/demo/tables/B2/cart", b2)).json()
    assert {i["dish_id"]: i["qty"] for i in cart["items"]} == {"d01": 2, "d02": 1}
    assert not await api.redis.exists(keys.cart("demo", "A1"))
    b1 = await api.diner("B1")
    await api.post(items.format("B1"), b1, {"dish_id": "d01", "qty": 1})
    res = await api.post("/api/r/demo/tables/B2/merge", api.merchant, {"into": "B1"})
    assert res.status_code == 200, res.text
    cart = (await api.get("/api/r/demo/tables/B1/cart", b1)).json()
    assert {i["dish_id"]: i["qty"] for i in cart["items"]} == {"d01": 3, "d02": 1}
    assert not await api.redis.exists(keys.cart("demo", "B2"))


async def test_a_cleared_tables_diner_token_is_refused(api: Api) -> None:
    """After 清台 the table's diner tokens get 401 session_ended, and so does its QR code
    until the table is opened again (then a new diner token works, the old one not)."""
    diner = await api.diner("A1")
    await api.order(diner, "A1", [{"dish_id": "d40"}])
    await api.post("/api/r/demo/tables/A1/bill", diner)
    res = await api.post("/api/r/demo/tables/A1/clear", api.merchant)
    assert res.status_code == 200 and res.json()["total_fen"] == 500
    for method, path in [("GET", "/api/r/demo/menu"), ("GET", "/api/r/demo/tables/A1/cart"),
                         ("POST", "/api/r/demo/tables/A1/orders")]:
        refused = await api.call(method, path, diner, {"items": [{"dish_id": "d40"}]})
        assert refused.status_code == 401, path
        assert refused.json()["error"]["code"] == "session_ended"
    qr = await api.post("/api/diner/session", json={"qr": api.qr("A1")})
    assert qr.status_code == 403
    await api.open_table("A1")
    assert (await api.get("/api/r/demo/menu", diner)).status_code == 401
    fresh = await api.diner("A1", seat=False)
    assert (await api.get("/api/r/demo/menu", fresh)).status_code == 200


async def test_clear_empties_the_cart(api: Api) -> None:
    """Clearing a table empties its shared cart (cart.changed)."""
    diner = await api.diner("A1")
    await api.post("/api/r/demo/tables/A1/cart/items", diner, {"dish_id": "d01", "qty": 1})
    await api.post("/api/r/demo/tables/A1/clear", api.merchant)
    assert not await api.redis.exists(keys.cart("demo", "A1"))
    assert (await api.events())[-2:] == ["table.cleared", "cart.changed"]


async def test_only_merchants_run_table_commands(api: Api) -> None:
    """Diner, station and expo tokens cannot open or clear tables (403)."""
    diner = await api.diner("B2")
    for token in (diner, api.station("wok"), api.expo):
        res = await api.post("/api/r/demo/tables/A1/open", token, {"guests": 2})
        assert res.status_code == 403
