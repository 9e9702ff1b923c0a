"""Idempotency keys and concurrency: a retried tap never doubles a ticket, and fifty phones
ordering the last ten fish get exactly ten tickets."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from api import idempotency
from kitchen import keys
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api


async def test_same_key_twice_creates_one_order_with_the_same_body(api: Api) -> None:
    """The same order sent twice with one idempotency key creates one order; both answers
    have the same body and the second says it is a replay."""
    diner = await api.diner("A1")
    body = {"items": [{"dish_id": "d08", "qty": 1}]}
    first = await api.post("/api/r/demo/tables/A1/orders", diner, body, key="tap-1")
    second = await api.post("/api/r/demo/tables/A1/orders", diner, body, key="tap-1")
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert first.headers["idempotent-replayed"] == "false"
    assert second.headers["idempotent-replayed"] == "true"
    assert await api.redis.hlen(keys.orders("demo")) == 1
    assert int(await api.redis.hget(keys.stock("demo"), "d08")) == 5
    assert (await api.events()).count("order.placed") == 1


async def test_concurrent_repeats_of_one_key_make_one_order(api: Api) -> None:
    """Ten concurrent sends of one order with one key make one order and ten equal answers."""
    diner = await api.diner("A1")
    body = {"items": [{"dish_id": "d01"}]}
    answers = await asyncio.gather(*(
        api.post("/api/r/demo/tables/A1/orders", diner, body, key="same") for _ in range(10)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert await api.redis.hlen(keys.orders("demo")) == 1


async def test_key_reused_for_another_request_is_refused(api: Api) -> None:
    """An idempotency key sent again with a different body is 422 and changes nothing."""
    diner = await api.diner("A1")
    await api.post("/api/r/demo/tables/A1/orders", diner, {"items": [{"dish_id": "d01"}]},
                   key="k")
    res = await api.post("/api/r/demo/tables/A1/orders", diner,
                         {"items": [{"dish_id": "d02"}]}, key="k")
    assert res.status_code == 422 and res.json()["error"]["code"] == "idempotency_key_reused"
    assert await api.redis.hlen(keys.orders("demo")) == 1


async def test_keys_are_scoped_per_token(api: Api) -> None:
    """Two phones using the same key string each get their own order."""
    phone1 = await api.diner("A1")
    phone2 = await api.diner("A1", seat=False)
    body = {"items": [{"dish_id": "d01"}]}
    await api.post("/api/r/demo/tables/A1/orders", phone1, body, key="1")
    await api.post("/api/r/demo/tables/A1/orders", phone2, body, key="1")
    assert await api.redis.hlen(keys.orders("demo")) == 2


async def test_refused_command_is_decided_again_on_retry(api: Api) -> None:
    """A refusal stores nothing: after restocking, the same key succeeds."""
    diner = await api.diner("A1")
    await api.put("/api/r/demo/dishes/d08/stock", api.merchant, {"remaining": 0})
    body = {"items": [{"dish_id": "d08"}]}
    first = await api.post("/api/r/demo/tables/A1/orders", diner, body, key="retry")
    assert first.status_code == 409
    await api.put("/api/r/demo/dishes/d08/stock", api.merchant, {"remaining": 3})
    second = await api.post("/api/r/demo/tables/A1/orders", diner, body, key="retry")
    assert second.status_code == 201


@pytest.mark.parametrize(("key", "code"), [
    (None, "idempotency_key_required"),
    ("", "idempotency_key_required"),
    ("has space", "idempotency_key_invalid"),
    ("x" * 101, "idempotency_key_invalid"),
    ("{tag}", "idempotency_key_invalid"),
])
async def test_commands_need_a_well_formed_key(api: Api, key: str | None, code: str) -> None:
    """A state-changing request without a valid Idempotency-Key is 400 and changes nothing."""
    diner = await api.diner("A1")
    before = await api.log_len()
    headers = {"Authorization": f"Bearer {diner}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    res = await api.client.post("/api/r/demo/tables/A1/orders", headers=headers,
                                json={"items": [{"dish_id": "d01"}]})
    assert res.status_code == 400 and res.json()["error"]["code"] == code
    assert await api.log_len() == before


async def test_fifty_concurrent_orders_on_stock_ten(api: Api) -> None:
    """Fifty concurrent orders for a dish with stock 10: exactly 10 accepted, the rest refused
    sold_out, stock never below zero, ticket numbers without gaps, and the menu shows the dish
    sold out right after."""
    await api.put("/api/r/demo/dishes/d08/stock", api.merchant, {"remaining": 10})
    tables = [f"A{n}" for n in range(1, 11)] + [f"B{n}" for n in range(1, 11)]
    diners = [await api.diner(t) for t in tables]
    low = 10

    async def watch() -> None:
        nonlocal low
        while True:
            raw = await api.redis.hget(keys.stock("demo"), "d08")
            low = min(low, int(raw))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    answers = await asyncio.gather(*(
        api.post(f"/api/r/demo/tables/{tables[n % 20]}/orders", diners[n % 20],
                 {"items": [{"dish_id": "d08", "qty": 1}]}) for n in range(50)))
    watcher.cancel()
    accepted = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert len(accepted) == 10
    assert {(a.status_code, a.json()["error"]["code"]) for a in refused} == {(409, "sold_out")}
    assert sorted(a.json()["order"]["no"] for a in accepted) == list(range(1, 11))
    assert int(await api.redis.hget(keys.stock("demo"), "d08")) == 0 and low >= 0
    menu = (await api.get("/api/r/demo/menu", diners[0])).json()
    shad = next(d for d in menu["dishes"] if d["id"] == "d08")
    assert shad["sold_out"] is True and shad["remaining"] == 0
    events = await api.events()
    assert events.count("order.placed") == 10 and events.count("dish.sold_out") == 1


async def test_an_action_whose_answer_was_lost_is_not_done_again(
        api_db: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A device token is issued (PostgreSQL) and then Redis fails to keep the answer: the
    caller gets a 5xx, and its retry with the same key is told the request was done (409
    answer_lost) instead of issuing a second token."""
    async def redis_gone(*_: object) -> None:
        raise RedisConnectionError("Redis went away")

    monkeypatch.setattr(idempotency, "_keep", redis_gone)
    body = {"role": "station", "station": "wok", "label": "炒锅平板"}
    first = await api_db.post("/api/r/demo/tokens", api_db.merchant, body, key="tablet-1")
    assert first.status_code >= 500, first.text
    monkeypatch.undo()
    again = await api_db.post("/api/r/demo/tokens", api_db.merchant, body, key="tablet-1")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "answer_lost")
    listed = (await api_db.get("/api/r/demo/tokens", api_db.merchant)).json()["tokens"]
    assert [t["label"] for t in listed] == ["炒锅平板"]
    other = await api_db.post("/api/r/demo/tokens", api_db.merchant, body, key="tablet-2")
    assert other.status_code == 201


async def test_a_lock_is_released_only_by_the_request_that_holds_it(api: Api) -> None:
    """A request whose lock ran out while it worked does not delete the lock a retry took
    meanwhile."""
    lock = keys.idem("demo", "~lock|k1")
    await api.redis.set(lock, b"retry")
    assert not await idempotency.release(api.redis, lock, b"first")
    assert await api.redis.get(lock) == b"retry"
    assert await idempotency.release(api.redis, lock, b"retry")
    assert await api.redis.get(lock) is None
