"""Who may see and change what: tokens checked against restaurant, table, station, session
and the revocation list."""

from __future__ import annotations

import pytest

from kitchen import keys, tokens
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import OTHER, Api


async def test_diner_of_table_a_cannot_read_or_change_table_b(api: Api) -> None:
    """A diner token of A1 gets 403 on every endpoint of B1 and on B1's orders."""
    a1 = await api.diner("A1")
    b1 = await api.diner("B1")
    order_b = await api.order(b1, "B1", [{"dish_id": "d01"}])
    before = await api.log_len()
    attempts = [
        ("GET", "/api/r/demo/tables/B1/cart", None),
        ("PUT", "/api/r/demo/tables/B1/cart", {"items": [{"dish_id": "d01"}]}),
        ("POST", "/api/r/demo/tables/B1/cart/items", {"dish_id": "d01", "qty": 1}),
        ("POST", "/api/r/demo/tables/B1/orders", {"items": [{"dish_id": "d01"}]}),
        ("GET", "/api/r/demo/tables/B1/orders", None),
        ("GET", "/api/r/demo/tables/B1/bill", None),
        ("POST", "/api/r/demo/tables/B1/bill", None),
        ("POST", "/api/r/demo/tables/B1/waiter", None),
        ("POST", f"/api/r/demo/orders/{order_b['id']}/lines", {"items": [{"dish_id": "d01"}]}),
        ("POST", f"/api/r/demo/orders/{order_b['id']}/lines/L1/return", None),
        ("POST", f"/api/r/demo/orders/{order_b['id']}/lines/L1/urge", None),
    ]
    for method, path, body in attempts:
        res = await api.call(method, path, a1, body)
        assert res.status_code == 403, (method, path, res.text)
        assert res.json()["error"]["code"] == "forbidden"
    assert await api.log_len() == before


async def test_diner_cannot_reach_another_restaurant(api: Api) -> None:
    """A diner token of demo gets 403 on the same table of another restaurant."""
    a1 = await api.diner("A1")
    await api.open_table("A1", rid=OTHER)
    for method, path in [("GET", f"/api/r/{OTHER}/menu"),
                         ("GET", f"/api/r/{OTHER}/tables/A1/cart"),
                         ("POST", f"/api/r/{OTHER}/tables/A1/orders")]:
        res = await api.call(method, path, a1, {"items": [{"dish_id": "d01"}]})
        assert res.status_code == 403, path


async def test_station_token_cannot_act_for_another_restaurant(api: Api) -> None:
    """A wok station token of demo is refused (403) on another restaurant's tickets and stock."""
    other_diner = await api.diner("A1", rid=OTHER)
    order = await api.order(other_diner, "A1", [{"dish_id": "d18"}], rid=OTHER)
    wok = api.station("wok")
    for method, path in [
        ("POST", f"/api/r/{OTHER}/orders/{order['id']}/lines/L1/start"),
        ("POST", f"/api/r/{OTHER}/orders/{order['id']}/bump"),
        ("POST", f"/api/r/{OTHER}/dishes/d18/sold-out"),
        ("GET", f"/api/r/{OTHER}/stations/wok/tickets"),
        ("GET", f"/api/r/{OTHER}/tickets"),
    ]:
        res = await api.call(method, path, wok)
        assert res.status_code == 403, path
    assert (await api.live_order(order["id"], OTHER))["lines"][0]["status"] == "queued"


async def test_station_sees_only_its_own_station_snapshot(api: Api) -> None:
    """A station token gets 403 on another station's snapshot and on the board."""
    wok = api.station("wok")
    assert (await api.get("/api/r/demo/stations/wok/tickets", wok)).status_code == 200
    assert (await api.get("/api/r/demo/stations/cold/tickets", wok)).status_code == 403
    assert (await api.get("/api/r/demo/board", wok)).status_code == 403


@pytest.mark.parametrize(("header", "code"), [
    (None, "unauthorized"),
    ("Basic abc", "unauthorized"),
    ("Bearer ", "unauthorized"),
    ("Bearer nonsense", "unauthorized"),
])
async def test_missing_or_malformed_authorization_is_401(api: Api, header: str | None,
                                                         code: str) -> None:
    """Requests without a well-formed bearer token get 401 with WWW-Authenticate."""
    headers = {} if header is None else {"Authorization": header}
    res = await api.client.get("/api/r/demo/menu", headers=headers)
    assert res.status_code == 401 and res.json()["error"]["code"] == code
    assert res.headers["www-authenticate"] == "Bearer"


async def test_expired_tampered_and_foreign_key_tokens_are_401(api: Api) -> None:
    """Expired tokens, tampered signatures and tokens of an unknown key are refused."""
    expired, _ = tokens.issue(api.settings.secret_keys, "merchant", ["demo"], ttl=60,
                              now=0)
    merchant = api.merchant
    tampered = merchant[:-2] + ("AA" if not merchant.endswith("AA") else "BB")
    foreign, _ = tokens.issue(["another-secret-key-0123456789abcdef"], "merchant", ["demo"],
                              ttl=60)
    for token in (expired, tampered, foreign):
        res = await api.get("/api/r/demo/menu", token)
        assert res.status_code == 401


async def test_qr_token_is_not_a_bearer_token(api: Api) -> None:
    """A table's QR token only opens a session; as a bearer token it gets 403."""
    await api.open_table("A1")
    res = await api.get("/api/r/demo/menu", api.qr("A1"))
    assert res.status_code == 403


async def test_revoked_token_is_refused(api: Api) -> None:
    """A token whose id is in k:{R}:revoked gets 401 on its next request."""
    token, claims = tokens.issue(api.settings.secret_keys, "expo", ["demo"], ttl=600)
    assert (await api.get("/api/r/demo/expo", token)).status_code == 200
    await api.redis.sadd(keys.revoked("demo"), claims.jti)
    res = await api.get("/api/r/demo/expo", token)
    assert res.status_code == 401 and "revoked" in res.json()["error"]["reason"]


async def test_revoked_qr_token_opens_no_session(api: Api) -> None:
    """A withdrawn QR token cannot open a diner session."""
    await api.open_table("A1")
    qr, claims = tokens.issue(api.settings.secret_keys, "qr", ["demo"], ttl=0, table="A1")
    await api.redis.sadd(keys.revoked("demo"), claims.jti)
    res = await api.post("/api/diner/session", json={"qr": qr})
    assert res.status_code == 401


async def test_diner_token_with_forged_session_is_refused(api: Api) -> None:
    """A diner token whose session is not the table's current one gets 401 session_ended."""
    await api.open_table("A1")
    forged = api.token("diner", table="A1", session="guess")
    res = await api.get("/api/r/demo/tables/A1/cart", forged)
    assert res.status_code == 401 and res.json()["error"]["code"] == "session_ended"


async def test_merchant_of_one_restaurant_cannot_manage_another(api: Api) -> None:
    """A merchant token of demo gets 403 on another restaurant's tables and tokens."""
    for method, path, body in [("POST", f"/api/r/{OTHER}/tables/A1/open", {"guests": 2}),
                               ("GET", f"/api/r/{OTHER}/tokens", None),
                               ("GET", f"/api/r/{OTHER}/board", None)]:
        res = await api.call(method, path, api.merchant, body)
        assert res.status_code == 403, path
