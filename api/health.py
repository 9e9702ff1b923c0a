"""Liveness and readiness: ``GET /healthz`` answers 200 when Redis and PostgreSQL answer."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.responses import Response

from api.context import Call
from api.errors import JSONAnswer

TIMEOUT_S = 2.0


async def _redis_ok(call: Call) -> bool:
    with contextlib.suppress(Exception):
        return bool(await asyncio.wait_for(call.svc.redis.ping(), TIMEOUT_S))
    return False


async def _postgres_ok(call: Call) -> bool:
    async def probe() -> Any:
        async with call.svc.pool.acquire() as conn:
            return await conn.fetchval(call.svc.queries["api_ping"])

    with contextlib.suppress(Exception):
        return bool(await asyncio.wait_for(probe(), TIMEOUT_S) == 1)
    return False


async def healthz(call: Call) -> Response:
    """200 when Redis and PostgreSQL both answer, else 503; the body says which failed."""
    redis_ok, pg_ok = await asyncio.gather(_redis_ok(call), _postgres_ok(call))
    ok = redis_ok and pg_ok
    return JSONAnswer({"ok": ok, "redis": redis_ok, "postgres": pg_ok},
                      status_code=200 if ok else 503)
