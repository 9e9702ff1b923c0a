"""Helpers for the hub's integration tests: a hub on port 0, clients, tokens and events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from hub.server import Hub
from kitchen import codec, keys, tokens
from kitchen.events import CartChanged, Event, OrderPlaced
from kitchen.model import Line, Order
from kitchen.settings import Settings

SECRET = "test-secret-key-for-signing-0123456789ab"
R = "r1"
EPOCH = "epoch-1"


def hub_settings(redis_url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"redis_url": redis_url, "secret_keys": (SECRET,),
                            "hub_port": 0, "hub_window": 100}
    base.update(overrides)
    return Settings(**base)


def token(role: str, restaurants: tuple[str, ...] = (R,), **scope: str) -> str:
    return tokens.issue([SECRET], role, restaurants, ttl=600, **scope)[0]


@asynccontextmanager
async def running_hub(settings: Settings) -> AsyncIterator[tuple[Hub, str]]:
    hub = Hub(settings, hub_id=f"test-{uuid.uuid4().hex[:6]}")
    port = await hub.start(port=0)
    try:
        yield hub, f"ws://127.0.0.1:{port}"
    finally:
        try:
            async with asyncio.timeout(20):
                await hub.stop()
        except TimeoutError:
            for task in asyncio.all_tasks():
                task.print_stack(limit=8)
            raise


async def open_restaurant(redis: aioredis.Redis, restaurant_id: str = R,
                          epoch: str = EPOCH) -> None:
    await redis.sadd(keys.RESTAURANTS, restaurant_id)
    await redis.set(keys.epoch(restaurant_id), epoch)


def order(restaurant_id: str = R, table: str = "T1", station: str = "wok", no: int = 1,
          note: str = "") -> Order:
    line = Line(id=f"l{no}", dish_id="d1", name_zh="宫保鸡丁", name_en="Kung Pao", qty=1,
                unit_price_fen=3800, station_id=station, note=note)
    return Order(id=f"o{no}", restaurant_id=restaurant_id, table_no=table, session_id="s1",
                 no=no, created_at=0, lines=(line,))


async def publish(redis: aioredis.Redis, *events: Event, hint: bool = True) -> list[str]:
    """XADD the events to their restaurants' logs and (``hint``) publish each log's key on
    the news channel, as the API's commit script does."""
    pipe = redis.pipeline(transaction=False)
    for event in events:
        pipe.xadd(keys.log(event.restaurant_id), {keys.STREAM_FIELD: codec.encode(event)})
    if hint:
        for log in dict.fromkeys(keys.log(e.restaurant_id) for e in events):
            pipe.publish(keys.NEWS, log)
    done = await pipe.execute()
    return [p.decode() for p in done[:len(events)]]


def placed(n: int, *, table: str = "T1", station: str = "wok", start: int = 1,
           note: str = "") -> list[Event]:
    return [OrderPlaced(R, order(table=table, station=station, no=i, note=note))
            for i in range(start, start + n)]


def cart(table: str = "T1") -> Event:
    return CartChanged(R, table, ())


class Client:
    """A JSON test client that reads frames one by one."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}

    async def send(self, obj: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(obj))

    async def recv(self, wait: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(wait):
            raw = await self.ws.recv()
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def until(self, op: str, wait: float = 5.0) -> dict[str, Any]:
        while True:
            frame = await self.recv(wait)
            if frame["op"] == op:
                return frame

    async def reply(self, wait: float = 5.0) -> dict[str, Any]:
        """The next answer to a request (ack, error, reload, pong), skipping pushed frames."""
        while True:
            frame = await self.recv(wait)
            if frame["op"] not in ("event", "presence"):
                return frame

    async def events(self, n: int, wait: float = 5.0) -> list[dict[str, Any]]:
        out = []
        while len(out) < n:
            frame = await self.recv(wait)
            if frame["op"] == "event":
                out.append(frame)
        return out

    async def quiet(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Frames that arrive within ``seconds`` (expected: none)."""
        got = []
        try:
            while True:
                got.append(await self.recv(seconds))
        except TimeoutError:
            return got

    async def subscribe(self, channels: list[str], resume: dict[str, Any] | None = None,
                        rid: str = "s") -> dict[str, Any]:
        body: dict[str, Any] = {"op": "sub", "id": rid, "channels": channels}
        if resume is not None:
            body["from"] = resume
        await self.send(body)
        return await self.until("ack") if resume is None else await self.recv()


@asynccontextmanager
async def client(url: str, tok: str, **kwargs: Any) -> AsyncIterator[Client]:
    async with connect(f"{url}/?token={tok}", open_timeout=5, **kwargs) as ws:
        c = Client(ws)
        c.hello = await c.recv()
        yield c
