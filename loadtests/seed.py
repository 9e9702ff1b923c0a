"""Seed many restaurants for a load test, fast, and write the plan the load generator reads.

Every restaurant gets the demo menu (``kitchen.demo.menu``) with unlimited stock, saved to
PostgreSQL (``kitchen.catalog.save_menu``) and made live in Redis (``Store.install``); all its
tables are opened in one atomic step each (so ``table.opened`` events flow as in a real
service). Tokens are signed here with the same ``KITCHEN_SECRET_KEYS`` as the processes, so no
HTTP request is needed: a station token per station, an expo and a merchant token, and a
diner token per table bound to the table's session.

    python -m loadtests.seed --restaurants 1000 --out .loadtest/plan.json

Reads ``DATABASE_URL``, ``REDIS_URL`` and ``KITCHEN_SECRET_KEYS`` (or ``KITCHEN_DEV=1``),
``PUBLIC_API_URL`` and ``PUBLIC_HUB_URL`` like every process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from kitchen import catalog, demo, keys, tables, tokens
from kitchen.db import create_pool
from kitchen.events import TableOpened, now_ms
from kitchen.model import Menu, TableStatus
from kitchen.settings import Settings
from kitchen.store import Reads, State, Store, Tx

PREFIX = "lt"
TOKEN_TTL_S = 24 * 3600
CONCURRENCY = 16


def restaurant_ids(count: int, prefix: str = PREFIX) -> list[str]:
    width = max(4, len(str(count - 1)))
    return [f"{prefix}{n:0{width}d}" for n in range(count)]


def _open_all(menu: Menu, guests: int = 2) -> Any:
    def decide(state: State) -> Tx:
        tx = Tx(state)
        for no in menu.tables:
            table = state.table(no)
            if table.status == TableStatus.FREE:
                opened = tables.open_table(table, guests, uuid.uuid4().hex[:12], now_ms())
                tx.put_table(opened)
                tx.emit(TableOpened(menu.restaurant_id, table=opened))
        tx.response = {}
        return tx

    return decide


async def seed_one(rid: str, pool: Any, store: Store, settings: Settings) -> dict[str, Any]:
    """One restaurant: menu in PostgreSQL and Redis, every table open, its tokens."""
    menu = demo.menu(rid)
    async with pool.acquire() as conn:
        await catalog.save_menu(conn, menu, {})
    if not await store.redis.exists(keys.menu(rid)):
        await store.install(menu, {})
    await store.run(rid, Reads(tables=list(menu.tables)), _open_all(menu))
    live = await store.tables(rid)
    key_list = settings.secret_keys

    def issue(role: str, **scope: str) -> str:
        return tokens.issue(key_list, role, [rid], ttl=TOKEN_TTL_S, **scope)[0]

    return {
        "id": rid,
        "stations": {s.id: issue("station", station=s.id)
                     for s in menu.stations if not s.is_expo},
        "expo": issue("expo", name="pass"),
        "merchant": issue("merchant", name="manager"),
        "tables": {t.no: issue("diner", table=t.no, session=t.session) for t in live},
    }


def menu_summary(menu: Menu) -> dict[str, Any]:
    """What the generator needs of the (shared) menu: dish ids and their stations."""
    return {
        "dishes": {d.id: d.station_id for d in menu.dishes if d.active},
        "stations": [s.id for s in menu.stations if not s.is_expo],
        "expo": [s.id for s in menu.stations if s.is_expo],
    }


async def seed(settings: Settings, count: int, prefix: str = PREFIX) -> dict[str, Any]:
    assert settings.database_url and settings.redis_url
    pool = await create_pool(settings.database_url, min_size=2, max_size=CONCURRENCY)
    redis = aioredis.Redis.from_url(settings.redis_url, decode_responses=False,
                                    max_connections=CONCURRENCY * 2)
    store = Store(redis)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(rid: str) -> dict[str, Any]:
        async with gate:
            return await seed_one(rid, pool, store, settings)

    try:
        restaurants = await asyncio.gather(*(one(r) for r in restaurant_ids(count, prefix)))
    finally:
        await redis.aclose()
        await pool.close()
    return {
        "created_at": int(time.time()),
        "api_url": settings.public_api_url,
        "hub_url": settings.public_hub_url,
        "menu": menu_summary(demo.menu(prefix)),
        "restaurants": restaurants,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restaurants", type=int, default=1000)
    parser.add_argument("--prefix", default=PREFIX, help="restaurant ids are PREFIX0000…")
    parser.add_argument("--out", type=Path, default=Path(".loadtest/plan.json"))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.database_url or not settings.redis_url:
        print("seed: DATABASE_URL and REDIS_URL are required", file=sys.stderr)
        return 2
    started = time.monotonic()
    plan = asyncio.run(seed(settings, args.restaurants, args.prefix))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(plan, ensure_ascii=False))
    print(f"seeded {args.restaurants} restaurants in {time.monotonic() - started:.1f} s "
          f"→ {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
