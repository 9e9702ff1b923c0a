"""API test fixtures: the app with its lifespan entered, an httpx client on it, and helpers
that mint tokens and drive the common steps (seat a table, get a diner token, order).

Import the fixtures into a test module with ``from tests.integration.api_fixtures import *``
(the fixtures ``api`` and ``api_db``; ``Api`` is their helper type).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
import redis.asyncio as aioredis

from api.app import create_app
from api.limits import Limits
from kitchen import codec, demo, keys, tokens
from kitchen.embedded import EmbeddedPostgres
from kitchen.settings import Settings
from kitchen.store import Store
from tests.conftest import TEST_SECRET

R = demo.RESTAURANT
OTHER = "other"
_keys = itertools.count(1)

__all__ = ["api", "api_database_url", "api_db"]  # the fixtures; import the rest by name


class Api:
    """An httpx client on the app, plus token and step helpers."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings,
                 redis: aioredis.Redis) -> None:
        self.client = client
        self.settings = settings
        self.redis: Any = redis  # bytes in, bytes out (redis-py types every reply loosely)
        self.app: Any = None  # the Starlette app, once serving
        self.merchant = self.token("merchant")
        self.expo = self.token("expo")

    # -- tokens
    def token(self, role: str, rid: str = R, *, station: str = "", table: str = "",
              session: str = "", ttl: int = 3600) -> str:
        token, _ = tokens.issue(self.settings.secret_keys, role, [rid], ttl=ttl,
                                station=station, table=table, session=session)
        return token

    def station(self, station: str, rid: str = R) -> str:
        return self.token("station", rid, station=station)

    def qr(self, table: str, rid: str = R) -> str:
        return self.token("qr", rid, table=table, ttl=0)

    # -- requests
    @staticmethod
    def new_key() -> str:
        return f"k{next(_keys)}"

    async def call(self, method: str, path: str, token: str | None = None,
                   json: Any = None, key: str | None = "auto", **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if method != "GET" and key is not None:
            headers["Idempotency-Key"] = self.new_key() if key == "auto" else key
        return await self.client.request(method, path, json=json, headers=headers, **kw)

    async def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return await self.call("GET", path, token, **kw)

    async def post(self, path: str, token: str | None = None, json: Any = None,
                   **kw: Any) -> httpx.Response:
        return await self.call("POST", path, token, json, **kw)

    async def put(self, path: str, token: str | None = None, json: Any = None,
                  **kw: Any) -> httpx.Response:
        return await self.call("PUT", path, token, json, **kw)

    # -- steps
    async def open_table(self, table: str, guests: int = 2, rid: str = R) -> dict[str, Any]:
        res = await self.post(f"/api/r/{rid}/tables/{table}/open", self.token("merchant", rid),
                              {"guests": guests})
        assert res.status_code == 200, res.text
        table_state: dict[str, Any] = res.json()["table"]
        return table_state

    async def diner(self, table: str, rid: str = R, *, seat: bool = True) -> str:
        """A diner token of ``table`` (seating the table first when ``seat``)."""
        if seat:
            await self.open_table(table, rid=rid)
        res = await self.post("/api/diner/session", json={"qr": self.qr(table, rid)})
        assert res.status_code == 200, res.text
        token: str = res.json()["token"]
        return token

    async def order(self, token: str, table: str, items: list[dict[str, Any]],
                    rid: str = R) -> dict[str, Any]:
        res = await self.post(f"/api/r/{rid}/tables/{table}/orders", token, {"items": items})
        assert res.status_code == 201, res.text
        order: dict[str, Any] = res.json()["order"]
        return order

    async def live_order(self, order_id: str, rid: str = R) -> dict[str, Any]:
        raw = await self.redis.hget(keys.orders(rid), order_id)
        assert raw is not None
        order: dict[str, Any] = codec.unpack(raw)
        return order

    async def events(self, rid: str = R) -> list[str]:
        """Types of the events in the restaurant's log, oldest first."""
        entries = await self.redis.xrange(keys.log(rid))
        return [codec.peek(fields[keys.STREAM_FIELD]).type for _id, fields in entries]

    async def log_len(self, rid: str = R) -> int:
        return int(await self.redis.xlen(keys.log(rid)))


async def whole_window(seconds: int = 60, need_s: float = 20.0) -> None:
    """Wait, if need be, until at least ``need_s`` of the current fixed rate-limit window
    remain, so that a test counting against a limit does not see the window turn over."""
    left = seconds - time.time() % seconds
    if left < need_s:
        await asyncio.sleep(left + 0.05)


@asynccontextmanager
async def serving(settings: Settings, redis: aioredis.Redis,
                  limits: Limits | None = None) -> AsyncIterator[Api]:
    """The app on ``settings``' stores with the demo restaurant (and ``other``) live."""
    store = Store(redis)
    await store.install(demo.menu(R), dict(demo.STOCK))
    await store.install(demo.menu(OTHER), dict(demo.STOCK))
    app = create_app(settings, limits or Limits(orders_per_table=10_000))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kitchen.test") as c:
            running = Api(c, settings, redis)
            running.app = app
            yield running


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api_database_url(postgres_server: EmbeddedPostgres, pg_template: str) -> str:
    """One migrated database shared by the API tests that write nothing to PostgreSQL
    (a fresh database per test costs more than most of these tests)."""
    name = "api_shared"
    conn = await asyncpg.connect(postgres_server.url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    finally:
        await conn.close()
    return postgres_server.dsn(name)


@pytest_asyncio.fixture(loop_scope="session")
async def api(api_database_url: str, redis_url: str, redis: aioredis.Redis,
              tmp_path: Path) -> AsyncIterator[Api]:
    """The app on the emptied Redis and the shared database; order placement is not rate
    limited. For tests that write PostgreSQL (tokens, menu, history) use ``api_db``."""
    settings = Settings(database_url=api_database_url, redis_url=redis_url,
                        secret_keys=(TEST_SECRET,), data_dir=tmp_path)
    async with serving(settings, redis) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def api_db(settings: Settings, redis: aioredis.Redis) -> AsyncIterator[Api]:
    """The app on this test's own fresh database (and the emptied Redis)."""
    async with serving(settings, redis) as running:
        yield running
