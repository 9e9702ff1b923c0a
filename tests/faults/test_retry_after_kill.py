"""A command whose answer was lost is retried with the same Idempotency-Key and never doubled.

The client sends an order and never reads the answer; as soon as the order is in the log, the
api (or Redis) is killed with SIGKILL and started again. The retry gets the first answer back,
marked replayed, and the log still holds one order for that key.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from kitchen import codec, keys
from kitchen.embedded import EmbeddedRedis
from tests.faults.harness import R, diner_tokens, running_system, token
from tests.faults.load import Client, Ledger
from tests.faults.system import System

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(120)]


async def send_without_reading(system: System, path: str, token: str, key: str,
                               body: dict[str, Any]) -> asyncio.StreamWriter:
    """Write a whole request and leave the answer unread (the phone lost its network)."""
    data = json.dumps(body).encode()
    _, writer = await asyncio.open_connection("127.0.0.1", system.api_port)
    writer.write((f"POST {path} HTTP/1.1\r\nHost: kitchen\r\nAuthorization: Bearer {token}\r\n"
                  f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(data)}\r\n\r\n").encode() + data)
    await writer.drain()
    return writer


async def orders_with_note(redis: aioredis.Redis, note: str) -> list[str]:
    """Ids of the orders placed in the log whose dishes carry ``note``."""
    found = []
    raw: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(keys.log(R))  # type: ignore[assignment]
    for _, fields in raw:
        env = codec.peek(fields[keys.STREAM_FIELD])
        order = env.payload.get("order", {})
        if env.type == "order.placed" and any(ln.get("note") == note
                                              for ln in order.get("lines", ())):
            found.append(str(order["id"]))
    return found


async def committed(redis: aioredis.Redis, note: str, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await orders_with_note(redis, note)
        if found:
            return found[0]
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no order with note {note!r} in the log")


@pytest.mark.parametrize("victim", ["api", "redis"])
async def test_an_order_committed_before_a_kill_is_answered_once_on_retry(
        durable_redis_server: EmbeddedRedis, database_url: str, tmp_path: Path,
        victim: str) -> None:
    """Kill the api or Redis right after the order is committed, before the phone read the
    answer: the retry with the same key gets the same order, replayed, and no second one."""
    async with running_system(database_url, durable_redis_server, tmp_path / "logs",
                              ("api",)) as system:
        client = Client(system.api_url, Ledger())
        redis = aioredis.Redis.from_url(durable_redis_server.url, decode_responses=False)
        try:
            diner = (await diner_tokens(client, token("merchant"), ("A2",)))["A2"]
            key = f"lost-answer-{victim}"
            body: dict[str, Any] = {"items": [{"dish_id": "d18", "note": key},
                                              {"dish_id": "d35", "note": key}]}
            path = f"/api/r/{R}/tables/A2/orders"
            writer = await send_without_reading(system, path, diner, key, body)
            order_id = await committed(redis, key)
            await system.kill_and_restart(victim, 0.2)
            writer.close()
            if victim == "redis":
                await redis.aclose()
                redis = aioredis.Redis.from_url(durable_redis_server.url,
                                                decode_responses=False)
            answer = await client.command("POST", path, diner, body, key, retry_for=20)
            assert answer is not None and answer.status == 201, answer
            assert answer.replayed and answer.body["order"]["id"] == order_id
            assert await orders_with_note(redis, key) == [order_id]
        finally:
            await client.aclose()
            await redis.aclose()
