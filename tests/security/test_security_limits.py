"""Limits a hostile phone meets: request size and shape, orders per table, and commands per
diner token, so that nobody at a table can flood the restaurant's log (every event of it is
stored, fanned out to screens and persisted)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from api.limits import Limits
from kitchen.settings import Settings
from tests.conftest import TEST_SECRET
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api, R, serving, whole_window

pytestmark = pytest.mark.asyncio(loop_scope="session")


def settings_of(database_url: str, redis_url: str, tmp: Path) -> Settings:
    return Settings(database_url=database_url, redis_url=redis_url,
                    secret_keys=(TEST_SECRET,), data_dir=tmp)


async def test_a_diner_cannot_flood_the_log_with_commands(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """Waiter calls and cart taps from one diner token stop at the per-token limit with 429
    and Retry-After, adding no event; a diner at another table is not affected."""
    limits = Limits()
    await whole_window()
    async with serving(settings_of(database_url, redis_url, tmp_path), redis, limits) as api:
        flooder, other = await api.diner("A1"), await api.diner("A2")
        before = await api.log_len()
        statuses = []
        for i in range(limits.diner_commands + 20):
            path = "waiter" if i % 2 else "cart/items"
            tap = 1 if i % 4 == 0 else -1  # add one, take it away again
            body = {"reason": "hi"} if i % 2 else {"dish_id": "d04", "qty": tap}
            res = await api.post(f"/api/r/{R}/tables/A1/{path}", flooder, body)
            statuses.append(res.status_code)
            if res.status_code == 429:
                assert res.json()["error"]["code"] == "rate_limited"
                assert int(res.headers["retry-after"]) >= 1
        assert statuses.count(429) == 20
        assert set(statuses[:limits.diner_commands]) == {200}
        assert await api.log_len() - before == limits.diner_commands
        res = await api.post(f"/api/r/{R}/tables/A2/waiter", other, {"reason": "hi"})
        assert res.status_code == 200
        assert (await api.get(f"/api/r/{R}/tables/A1/cart", flooder)).status_code == 200


async def test_new_diner_tokens_do_not_buy_a_table_more_commands(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """Scanning the code again mints a fresh diner token, but every phone of a table draws on
    the table's budget too: five tokens together get no more than table_commands through."""
    limits = Limits(diner_commands=20, table_commands=50)
    await whole_window()
    async with serving(settings_of(database_url, redis_url, tmp_path), redis, limits) as api:
        phones = [await api.diner("A1", seat=(i == 0)) for i in range(5)]
        before = await api.log_len()
        accepted = 0
        for phone in phones:
            for _ in range(limits.diner_commands):
                res = await api.post(f"/api/r/{R}/tables/A1/waiter", phone, {"reason": "x"})
                assert res.status_code in (200, 429), res.text
                accepted += res.status_code == 200
        assert accepted == limits.table_commands
        assert await api.log_len() - before == limits.table_commands
        b1 = await api.diner("B1")
        assert (await api.post(f"/api/r/{R}/tables/B1/waiter", b1, {})).status_code == 200


async def test_the_order_limit_holds_across_tokens_and_keys_but_not_retries(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """Two phones at one table with fresh keys place at most orders_per_table orders in a
    window; a retry of an accepted order still gets its first answer; the next table orders."""
    limits = Limits(orders_per_table=5)
    await whole_window()
    async with serving(settings_of(database_url, redis_url, tmp_path), redis, limits) as api:
        phones = [await api.diner("A1"), await api.diner("A1", seat=False)]
        placed, refused = [], 0
        for i in range(12):
            key = f"order-{i}"
            res = await api.post(f"/api/r/{R}/tables/A1/orders", phones[i % 2],
                                 {"items": [{"dish_id": "d04"}]}, key=key)
            if res.status_code == 201:
                placed.append((i, key, res.json()["order"]["id"]))
            else:
                assert res.status_code == 429 and "retry-after" in res.headers
                refused += 1
        assert (len(placed), refused) == (5, 7)
        i, key, order_id = placed[0]
        res = await api.post(f"/api/r/{R}/tables/A1/orders", phones[i % 2],
                             {"items": [{"dish_id": "d04"}]}, key=key)
        assert res.status_code == 201 and res.json()["order"]["id"] == order_id
        assert res.headers["idempotent-replayed"] == "true"
        b1 = await api.diner("B1")
        res = await api.post(f"/api/r/{R}/tables/B1/orders", b1, {"items": [{"dish_id": "d04"}]})
        assert res.status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    ({"items": [{"dish_id": "d04"}] * 31}, "items"),
    ({"items": [{"dish_id": "d04", "qty": 21}]}, "qty"),
    ({"items": [{"dish_id": "d04", "qty": 0}]}, "qty"),
    ({"items": [{"dish_id": "d04", "note": "辣" * 101}]}, "note"),
    ({"items": [{"dish_id": "d04", "course": 6}]}, "course"),
])
async def test_an_order_out_of_its_limits_is_refused(api: Api, body: dict[str, object],
                                                      field: str) -> None:
    """Too many items, quantities out of range, overlong notes: 422 naming the field."""
    diner = await api.diner("A1")
    before = await api.log_len()
    res = await api.post(f"/api/r/{R}/tables/A1/orders", diner, body)
    assert res.status_code == 422, res.text
    assert field in res.text
    assert await api.log_len() == before


async def test_oversized_requests_are_refused_before_they_are_read(api: Api) -> None:
    """A body over the limit (declared or streamed) gets 413; an overlong Idempotency-Key 400."""
    diner = await api.diner("A1")
    path = f"/api/r/{R}/tables/A1/orders"
    big = b'{"items": [], "pad": "' + b"x" * (64 * 1024) + b'"}'
    res = await api.client.post(path, content=big, headers={
        "Authorization": f"Bearer {diner}", "Idempotency-Key": "big",
        "Content-Type": "application/json"})
    assert res.status_code == 413

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(80):
            yield b" " * 1024

    res = await api.client.post(path, content=chunks(), headers={
        "Authorization": f"Bearer {diner}", "Idempotency-Key": "streamed"})
    assert res.status_code == 413
    res = await api.post(path, diner, {"items": [{"dish_id": "d04"}]}, key="k" * 101)
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "idempotency_key_invalid"
