"""The pre-checks of a command run in Redis with its read (api/gate.py): the same refusals,
in the same order, counting the same limits as checking one step at a time; fewer trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from api import endpoint
from api.limits import Limits
from kitchen import keys, tokens
from kitchen.settings import Settings
from tests.conftest import TEST_SECRET
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api, R, serving, whole_window

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIMITS = Limits(orders_per_table=3, diner_commands=7, table_commands=9)
ORDER = {"items": [{"dish_id": "d04"}]}


async def _scenario(api: Api) -> tuple[list[tuple[int, str, str]], dict[str, int]]:
    """Requests that meet every pre-check once; what each got, and every rate counter after."""
    phone, other = await api.diner("A1"), await api.diner("A2")
    names = {tokens.verify(phone, api.settings.secret_keys).jti: "phone",
             tokens.verify(other, api.settings.secret_keys).jti: "other"}
    orders = f"/api/r/{R}/tables/A1/orders"
    seen: list[tuple[int, str, str]] = []

    async def send(path: str, token: str, body: Any = ORDER, key: str | None = "auto",
                   **kw: Any) -> None:
        res = await api.call("POST", path, token, body, key=key, **kw)
        code = res.json().get("error", {}).get("code", "") if res.status_code >= 400 else ""
        seen.append((res.status_code, code, res.headers.get("idempotent-replayed", "")))

    await send(f"/api/r/{R}/tables/A2/orders", phone)  # another table: 403, nothing counted
    await send(orders, phone, key=None)  # no key: 400, nothing counted
    await send(orders, phone, None, content=b"{not json",
               headers={"Content-Type": "application/json"})  # counted, then 400
    await send(orders, phone, {"items": []})  # counted, then 422
    await send(orders, phone, key="first")  # 201
    await send(orders, phone, key="first")  # the first answer; no order counted
    await send(orders, phone)  # 201
    await send(orders, phone)  # 201: the table's third order
    await send(orders, phone)  # 429: orders at this table
    await send(orders, phone)  # 429: commands from this phone
    await send(f"/api/r/{R}/tables/A2/orders", other)  # another table orders
    await api.redis.sadd(keys.revoked(R), tokens.verify(other, api.settings.secret_keys).jti)
    await send(f"/api/r/{R}/tables/A1/orders", other)  # revoked beats the wrong table
    await send(f"/api/r/{R}/tables/A2/orders", other)  # revoked
    seat = api.token("diner", table="B1", session="gone")
    await send(f"/api/r/{R}/tables/B1/orders", seat)  # B1 is free: the session has ended
    await api.redis.delete(keys.menu(R))
    await send(orders, api.token("merchant"))  # no such restaurant any more
    counters = {}
    for key in await api.redis.keys(keys.rate(R, "*")):
        scope = key.decode().split(":rate:", 1)[1].rsplit(":", 1)[0]
        kind, _, who = scope.partition(":")
        counters[f"{kind}:{names.get(who, who)}"] = int(await api.redis.get(key))
    return seen, counters


async def test_refusals_and_counts_match_the_step_by_step_checks(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same requests, once with the pre-checks in the read's trip and once one step at a
    time: every answer and every rate counter agree."""
    settings = Settings(database_url=database_url, redis_url=redis_url,
                        secret_keys=(TEST_SECRET,), data_dir=tmp_path)
    await whole_window(need_s=30)  # both runs count within one window
    async with serving(settings, redis, LIMITS) as api:
        gated = await _scenario(api)
    await redis.flushdb()

    async def step_by_step(*_: Any) -> None:
        return None

    monkeypatch.setattr(endpoint, "_gated", step_by_step)
    async with serving(settings, redis, LIMITS) as api:
        stepwise = await _scenario(api)
    assert gated == stepwise
    answers, counters = gated
    assert [s for s, _, _ in answers] == [403, 400, 400, 422, 201, 201, 201, 201, 429, 429,
                                          201, 401, 401, 401, 404]
    assert answers[5][2] == "true"  # the retry got the first answer
    assert answers[13][1] == "session_ended"
    # the phone: 8 commands counted (all but the 403 and the keyless); the order limit: three
    # new orders and the refused fourth, not the retry
    assert counters["diner:phone"] == 8 and counters["order:A1"] == 4


async def test_an_order_is_one_trip_to_read_and_one_to_commit(api: Api) -> None:
    """With the menu known, placing an order costs two Redis round trips in all."""
    diner = await api.diner("A1")
    await api.order(diner, "A1", [{"dish_id": "d04"}])  # the menu is read once
    batch = api.app.state.services.store.batch
    sent = batch._send
    trips = 0

    async def counting(pending: Any) -> None:
        nonlocal trips
        trips += 1
        await sent(pending)

    batch._send = counting
    try:
        await api.order(diner, "A1", [{"dish_id": "d04", "qty": 2}, {"dish_id": "d01"}])
    finally:
        batch._send = sent
    assert trips == 2


async def test_a_redis_without_the_scripts_still_takes_orders(api: Api) -> None:
    """After SCRIPT FLUSH (as after a Redis restart) the pre-checks load their script again."""
    diner = await api.diner("A1")
    await api.redis.script_flush()
    order = await api.order(diner, "A1", [{"dish_id": "d04"}])
    assert order["table_no"] == "A1"
    await api.redis.script_flush()
    res = await api.post(f"/api/r/{R}/orders/{order['id']}/lines/{order['lines'][0]['id']}"
                         "/start", api.station(order["lines"][0]["station_id"]), {})
    assert res.status_code == 200, res.text
