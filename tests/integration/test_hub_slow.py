"""Slow clients: one screen that stops reading is cut; the others never wait for it."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.hub_support import (
    client,
    hub_settings,
    open_restaurant,
    placed,
    publish,
    running_hub,
    token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
LIMIT = 64 * 1024
EXPO = "expo:r1"


def small_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive buffer, so backpressure reaches the hub quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_stalled_reader_is_cut_while_a_fast_one_keeps_up(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A client that stops reading is closed with 4008 once its buffer passes the limit, while
    another client on the same channel receives every event promptly and the hub never holds
    more than the limit (plus one write) for the stalled one."""
    await open_restaurant(redis)
    settings = hub_settings(redis_url, send_buffer_bytes=LIMIT)
    async with running_hub(settings) as (hub, url):
        port = int(url.rsplit(":", 1)[1])
        tok = token("expo")
        async with client(url, tok) as fast, connect(
                f"{url}/?token={tok}", sock=small_socket(port), max_queue=1) as slow:
            await slow.recv()  # hello
            await slow.send('{"op":"sub","id":"1","channels":["expo:r1"]}')
            await slow.recv()  # ack; from now on this client reads nothing
            stalled = next(c for c in hub.registry.conns.values()
                           if c.ws.remote_address == slow.local_address)
            await fast.subscribe([EXPO])

            total, batch = 800, 40
            received: list[float] = []

            async def read_fast() -> None:
                for frame in await fast.events(total, wait=20):
                    assert frame["op"] == "event"
                    received.append(time.monotonic())

            reader = asyncio.create_task(read_fast())
            cut_at = None
            for start in range(0, total, batch):
                await publish(redis, *placed(batch, start=start, note="x" * 8000))
                await asyncio.sleep(0.01)  # one batch per stream read
                if cut_at is None and hub.metrics.slow_closes:
                    cut_at = start
            finished = time.monotonic()
            await reader

            assert hub.metrics.slow_closes == 1
            assert cut_at is not None and cut_at < total - batch
            assert stalled.peak <= LIMIT + 2 * batch * 9000
            assert stalled not in hub.registry.watching(EXPO)
            assert len(received) == total and received[-1] - finished < 2.0
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await asyncio.wait_for(slow.recv(), 10)
            assert info.value.rcvd is not None and info.value.rcvd.code == 4008
