"""A diner sees only their own table *session*: once the table is cleared, transferred or
merged, a phone of the guests who left gets nothing more of that table from the hub, neither
on the connection it holds nor on a reconnect, while the next guests' phones are served."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hub.server import Hub
from kitchen.settings import Settings
from tests.conftest import TEST_SECRET
from tests.integration.api_fixtures import Api, R, serving

pytestmark = pytest.mark.asyncio(loop_scope="session")


@asynccontextmanager
async def doors(database_url: str, redis_url: str, redis: aioredis.Redis, tmp: Path
                ) -> AsyncIterator[tuple[Api, str]]:
    settings = Settings(database_url=database_url, redis_url=redis_url,
                        secret_keys=(TEST_SECRET,), data_dir=tmp, hub_port=0)
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(serving(settings, redis))
        hub = Hub(settings, hub_id="sessions")
        port = await hub.start(port=0)
        stack.push_async_callback(hub.stop)
        yield api, f"ws://127.0.0.1:{port}"


async def watch(url: str, token: str, channel: str) -> ClientConnection:
    ws = await connect(f"{url}/ws?token={token}", open_timeout=5)
    assert json.loads(await ws.recv())["op"] == "hello"
    await ws.send(json.dumps({"op": "sub", "id": "1", "channels": [channel]}))
    return ws


async def frames(ws: ClientConnection, seconds: float = 1.5) -> tuple[list[dict[str, Any]],
                                                                      int | None]:
    """Frames received within ``seconds``, and the close code if the hub closed."""
    got: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                got.append(json.loads(await ws.recv()))
    except TimeoutError:
        return got, None
    except ConnectionClosed as exc:
        return got, exc.rcvd.code if exc.rcvd else 1006


def orders_seen(got: list[dict[str, Any]]) -> set[str]:
    return {f["data"]["order"]["id"] for f in got
            if f.get("op") == "event" and "order" in f.get("data", {})}


@pytest.mark.parametrize("ending", ["clear", "transfer", "merge"])
async def test_phones_of_a_finished_session_see_nothing_of_the_next_guests(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path,
        ending: str) -> None:
    """After 清台, 转台 or 合桌 and a new seating, the old phone's connection is closed and a
    reconnect is refused; the new guests' order never reaches it."""
    async with doors(database_url, redis_url, redis, tmp_path) as (api, hub_url):
        leaving = await api.diner("A1")
        channel = f"table:{R}:A1"
        ws = await watch(hub_url, leaving, channel)
        got, closed = await frames(ws, 0.3)
        assert [f["op"] for f in got] == ["ack"] and closed is None
        if ending == "clear":
            res = await api.post(f"/api/r/{R}/tables/A1/clear", api.merchant)
        elif ending == "transfer":
            res = await api.post(f"/api/r/{R}/tables/A1/transfer", api.merchant, {"to": "A5"})
        else:
            await api.open_table("A6")
            res = await api.post(f"/api/r/{R}/tables/A1/merge", api.merchant, {"into": "A6"})
        assert res.status_code == 200, res.text
        arriving = await api.diner("A1")
        order = await api.order(arriving, "A1", [{"dish_id": "d04"}])
        got, closed = await frames(ws)
        assert order["id"] not in orders_seen(got)
        assert closed == 4001
        again = await watch(hub_url, leaving, channel)
        got, closed = await frames(again, 0.5)
        assert not [f for f in got if f["op"] in ("ack", "event")], got
        await again.close()
        welcome = await watch(hub_url, arriving, channel)
        got, _ = await frames(welcome, 0.3)
        assert got and got[0]["op"] == "ack", got
        await welcome.close()


async def test_a_fresh_hub_refuses_a_phone_of_an_ended_session(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """A hub started after the table was cleared and seated again (it has no event of the
    table in memory) still refuses the old phone, and serves the new one."""
    async with doors(database_url, redis_url, redis, tmp_path) as (api, _):
        leaving = await api.diner("A1")
        await api.post(f"/api/r/{R}/tables/A1/clear", api.merchant)
        arriving = await api.diner("A1")
        settings = Settings(redis_url=redis_url, secret_keys=(TEST_SECRET,), hub_port=0,
                            hub_window=10)
        fresh = Hub(settings, hub_id="fresh")
        port = await fresh.start(port=0)
        try:
            url, channel = f"ws://127.0.0.1:{port}", f"table:{R}:A1"
            old = await watch(url, leaving, channel)
            got, closed = await frames(old, 1.0)
            assert [(f["op"], f.get("code")) for f in got] == [("error", "unauthorized")]
            assert closed == 4001
            new = await watch(url, arriving, channel)
            got, _ = await frames(new, 0.3)
            assert got[0]["op"] == "ack"
            await new.close()
        finally:
            await fresh.stop()


async def test_a_new_guest_cannot_replay_the_guests_before(
        database_url: str, redis_url: str, redis: aioredis.Redis, tmp_path: Path) -> None:
    """The guests before ordered, asked for the bill and were cleared; the next guests' phone
    asks the hub to resume from the log's beginning. It is told to reload (and the snapshot
    it then loads is of its own session), never replayed the order, bill or clearing of
    the guests before; resuming from its snapshot works."""
    async with doors(database_url, redis_url, redis, tmp_path) as (api, hub_url):
        leaving = await api.diner("A1")
        res = await api.post(f"/api/r/{R}/tables/A1/orders", leaving,
                             {"items": [{"dish_id": "d04"}]})
        assert res.status_code == 201, res.text
        before = {"id": res.json()["order"]["id"], "pos": res.json()["pos"]}
        res = await api.post(f"/api/r/{R}/tables/A1/bill", leaving)
        assert res.status_code == 200, res.text
        res = await api.post(f"/api/r/{R}/tables/A1/clear", api.merchant)
        assert res.status_code == 200, res.text
        arriving = await api.diner("A1")
        snap = await api.get(f"/api/r/{R}/tables/A1/orders", arriving)
        assert snap.status_code == 200, snap.text
        assert before["id"] not in snap.text
        epoch, pos = snap.json()["epoch"], snap.json()["pos"]
        channel = f"table:{R}:A1"
        for start in ("0-0", before["pos"]):
            ws = await connect(f"{hub_url}/ws?token={arriving}", open_timeout=5)
            assert json.loads(await ws.recv())["op"] == "hello"
            await ws.send(json.dumps({"op": "sub", "id": "1", "channels": [channel],
                                      "from": {R: {"pos": start, "epoch": epoch}}}))
            got, closed = await frames(ws, 0.8)
            assert [(f["op"], f.get("reason")) for f in got] == [("reload", "session"),
                                                                 ("ack", None)], got
            assert closed is None
            await ws.close()
        ws = await connect(f"{hub_url}/ws?token={arriving}", open_timeout=5)
        assert json.loads(await ws.recv())["op"] == "hello"
        await ws.send(json.dumps({"op": "sub", "id": "1", "channels": [channel],
                                  "from": {R: {"pos": pos, "epoch": epoch}}}))
        got, _ = await frames(ws, 0.5)
        assert got and got[0]["op"] == "ack" and got[0]["channels"] == [channel], got
        assert not orders_seen(got)
        await ws.close()


async def test_older_news_of_a_table_never_overrides_newer() -> None:
    """A session learned at a later log position is kept when an older event arrives late."""
    from hub.sessions import Sessions

    sessions = Sessions()
    assert sessions.learn("r", "A1", "s3", (30, 0))
    assert not sessions.learn("r", "A1", "s2", (20, 0))
    assert sessions.current("r", "A1") == "s3"
    assert sessions.learn("r", "A1", "", (31, 0))
    sessions.forget("r")
    assert sessions.current("r", "A1") is None
