"""A burst of commands larger than the pool waits for connections instead of failing."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from kitchen import redisclient
from kitchen.batching import PackedConnection

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _burst(client: aioredis.Redis, n: int) -> list[object]:
    """``n`` commands at once, each holding its connection for 0.2 s."""
    return await asyncio.gather(*(client.blpop([f"nothing{i}"], timeout=0.2) for i in range(n)),
                                return_exceptions=True)


async def test_a_burst_past_the_pool_queues_and_is_served(redis_url: str) -> None:
    client = redisclient.connect(redis_url, max_connections=3, wait_s=5)
    try:
        t0 = time.monotonic()
        results = await _burst(client, 12)
        took = time.monotonic() - t0
    finally:
        await client.aclose()
    assert results == [None] * 12  # every one answered (BLPOP timed out empty)
    assert took >= 0.75  # four rounds of three: they queued for the connections


async def test_redis_pys_own_pool_fails_the_same_burst(redis_url: str) -> None:
    """What the client is for: the default pool refuses at once past its size."""
    client = aioredis.Redis.from_url(redis_url, max_connections=3)
    try:
        results = await _burst(client, 12)
    finally:
        await client.aclose()
    assert any("Too many connections" in str(r) for r in results)


async def test_a_wait_past_its_limit_fails_clearly(redis_url: str) -> None:
    client = redisclient.connect(redis_url, max_connections=1, wait_s=0.1)
    try:
        results = await asyncio.gather(client.blpop(["nothing"], timeout=1), client.ping(),
                                       return_exceptions=True)
    finally:
        await client.aclose()
    assert results[0] is None
    assert isinstance(results[1], RedisConnectionError)


async def test_commands_are_packed_in_c_and_mean_the_same(redis_url: str) -> None:
    """Text, bytes and numbers arrive as redis-py's own packing would send them."""
    client = redisclient.connect(redis_url, decode_responses=False)
    plain = aioredis.Redis.from_url(redis_url)
    try:
        assert client.connection_pool.connection_class is PackedConnection
        await client.hset("k:packed", mapping={"名": "宫保鸡丁", "b": b"\x00\xff", "n": 7,
                                                "f": 2.5})
        await client.xadd("k:packed:log", {"e": b"\x81\xa1t\x01"}, maxlen=10)
        assert await plain.hgetall("k:packed") == {
            "名".encode(): "宫保鸡丁".encode(), b"b": b"\x00\xff", b"n": b"7", b"f": b"2.5"}
        ((_, fields),) = await plain.xrange("k:packed:log")
        assert fields == {b"e": b"\x81\xa1t\x01"}
    finally:
        await plain.delete("k:packed", "k:packed:log")
        await client.aclose()
        await plain.aclose()
