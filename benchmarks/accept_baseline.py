"""The naive baseline of the accept benchmark: one PostgreSQL INSERT and one XADD per order.

    DATABASE_URL=... REDIS_URL=... python -m benchmarks.accept_baseline --port PORT

Same framework and server as the API (Starlette on uvicorn, one process), same path and body,
but none of the API's work: no token, no menu, no idempotency, no live state — parse the JSON,
INSERT the order into ``bench_orders``, XADD it to the restaurant's stream, answer 201.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.wire import CoalescingHttp

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_orders (
    restaurant_id text NOT NULL,
    id            text NOT NULL,
    table_no      text NOT NULL,
    items         jsonb NOT NULL,
    created_at    bigint NOT NULL,
    PRIMARY KEY (restaurant_id, id)
)
"""
INSERT = ("INSERT INTO bench_orders (restaurant_id, id, table_no, items, created_at) "
          "VALUES ($1, $2, $3, $4::jsonb, $5)")


def create_app(database_url: str, redis_url: str, pool_size: int) -> Starlette:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(database_url, min_size=pool_size,
                                                  max_size=pool_size)
        # redis-py refuses (MaxConnectionsError) past its default 100 connections; one call
        # per request in flight needs more
        state["redis"] = aioredis.Redis.from_url(redis_url, max_connections=1024)
        await state["pool"].execute(SCHEMA)
        try:
            yield
        finally:
            await state["pool"].close()
            await state["redis"].aclose()

    async def place(request: Request) -> Response:
        rid, table = request.path_params["rid"], request.path_params["table"]
        body = await request.json()
        order = {"id": uuid.uuid4().hex, "restaurant_id": rid, "table_no": table,
                 "items": body.get("items", []), "created_at": int(time.time() * 1000)}
        text = json.dumps(order)
        await state["pool"].execute(INSERT, rid, order["id"], table, json.dumps(order["items"]),
                                    order["created_at"])
        pos = await state["redis"].xadd(f"bench:{{{rid}}}:log", {"e": text})
        return Response(json.dumps({"order": order, "pos": pos.decode()}), status_code=201,
                        media_type="application/json")

    return Starlette(routes=[Route("/api/r/{rid}/tables/{table}/orders", place,
                                   methods=["POST"])], lifespan=lifespan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=int, default=10, help="PostgreSQL connections")
    args = parser.parse_args(argv)
    app = create_app(os.environ["DATABASE_URL"], os.environ["REDIS_URL"], args.pool)
    # the same uvicorn options as `python -m api`
    uvicorn.run(app, host="127.0.0.1", port=args.port, http=CoalescingHttp, proxy_headers=True,
                log_level="info", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
