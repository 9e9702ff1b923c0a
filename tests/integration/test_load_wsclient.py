"""The load generator's WebSocket client against a real hub: handshake and subprotocol,
whole messages in order, pings answered while it waits, refusals and closes as the
exceptions its screens handle."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from pathlib import Path

import msgpack
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kitchen import keys
from loadtests.wsclient import Connection
from tests.integration.hub_support import (
    hub_settings,
    open_restaurant,
    placed,
    publish,
    running_hub,
    token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]


async def test_a_screen_subscribes_and_reads_events_in_order(
        redis: aioredis.Redis, redis_url: str) -> None:
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        conn = await asyncio.to_thread(Connection.open, f"{url}/ws?token={token('expo')}",
                                       subprotocols=("kitchen.msgpack",), timeout=5)
        try:
            assert conn.subprotocol == "kitchen.msgpack"
            hello = msgpack.unpackb(await asyncio.to_thread(conn.recv, 5))
            assert hello["op"] == "hello"
            await asyncio.to_thread(conn.send, json.dumps(
                {"op": "sub", "id": "s", "channels": ["expo:r1"]}))
            assert msgpack.unpackb(await asyncio.to_thread(conn.recv, 5))["op"] == "ack"
            positions = await publish(redis, *placed(30))
            got = [msgpack.unpackb(await asyncio.to_thread(conn.recv, 5)) for _ in range(30)]
            assert [f["pos"] for f in got] == positions
            assert {f["op"] for f in got} == {"event"}
            with pytest.raises(TimeoutError):
                await asyncio.to_thread(conn.recv, 0.2)
        finally:
            await asyncio.to_thread(conn.close)
        assert conn.sock.fileno() == -1


async def test_a_turned_away_screen_reads_why_then_closed(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A forged token: the hub's error frame, then ConnectionClosed with its code."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        conn = await asyncio.to_thread(Connection.open, f"{url}/ws?token=forged.token",
                                       timeout=5)
        frame = json.loads(await asyncio.to_thread(conn.recv, 5))
        assert (frame["op"], frame["code"]) == ("error", "unauthorized")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.to_thread(conn.recv, 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_a_refused_handshake_raises() -> None:
    """An HTTP answer that is not 101: InvalidStatus, an InvalidHandshake."""
    async def handler(ws: ServerConnection) -> None:
        await ws.close()

    server = await serve(handler, "127.0.0.1", 0, ping_interval=None,
                         process_request=lambda ws, request: ws.respond(403, "no\n"))
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(InvalidStatus) as refused:
            await asyncio.to_thread(Connection.open, f"ws://127.0.0.1:{port}/", timeout=5)
        assert isinstance(refused.value, InvalidHandshake)
        assert refused.value.response.status_code == 403
    finally:
        server.close()


async def _peer(handler: object) -> tuple[object, int]:
    server = await serve(handler, "127.0.0.1", 0, ping_interval=None)  # type: ignore[arg-type]
    port = server.sockets[0].getsockname()[1]
    return server, port


async def test_pings_are_answered_and_fragments_joined_while_reading() -> None:
    """A server that pings and sends a fragmented message: the pong goes back before the
    message is whole, and the message comes out whole."""
    ponged = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        waiter = await ws.ping(b"are-you-there")
        await ws.send(["café ", "au ", "lait"])  # three frames, one text message
        await asyncio.wait_for(waiter, 5)
        ponged.set()
        await ws.send(b"\x00" * 200_000)
        await ws.close(4008, "too slow")

    server, port = await _peer(handler)
    try:
        conn = await asyncio.to_thread(Connection.open, f"ws://127.0.0.1:{port}/", timeout=5)
        assert await asyncio.to_thread(conn.recv, 5) == "café au lait"
        assert await asyncio.to_thread(conn.recv, 5) == b"\x00" * 200_000
        await asyncio.wait_for(ponged.wait(), 5)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.to_thread(conn.recv, 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        with pytest.raises(ConnectionClosed):  # and stays closed
            await asyncio.to_thread(conn.recv, 1)
    finally:
        server.close()  # type: ignore[attr-defined]


async def test_a_dropped_connection_raises_closed() -> None:
    """The server's socket goes away without a close frame: ConnectionClosed, not a hang."""
    dropped = threading.Event()

    async def handler(ws: ServerConnection) -> None:
        ws.transport.abort()
        dropped.set()

    server, port = await _peer(handler)
    try:
        conn = await asyncio.to_thread(Connection.open, f"ws://127.0.0.1:{port}/", timeout=5)
        with pytest.raises((ConnectionClosed, ConnectionResetError)):
            await asyncio.to_thread(conn.recv, 5)
        assert dropped.is_set()
    finally:
        server.close()  # type: ignore[attr-defined]


async def test_nobody_listening_is_an_os_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        await asyncio.to_thread(Connection.open, f"ws://127.0.0.1:{port}/", timeout=2)


async def test_a_message_read_late_is_stamped_when_it_arrived() -> None:
    """A screen busy elsewhere reads a message 300 ms after it came: ``arrived`` says when its
    bytes reached the socket, not when they were read."""
    sent_at: list[float] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(b"ticket")
        sent_at.append(time.time())
        await ws.wait_closed()

    server, port = await _peer(handler)
    try:
        conn = await asyncio.to_thread(Connection.open, f"ws://127.0.0.1:{port}/", timeout=5)
        await asyncio.sleep(0.3)  # the message waits in the socket meanwhile
        assert await asyncio.to_thread(conn.recv, 5) == b"ticket"
        read_at = time.time()
        assert conn.stamped
        assert read_at - conn.arrived >= 0.25
        assert abs(conn.arrived - sent_at[0]) < 0.05
        await asyncio.to_thread(conn.close)
    finally:
        server.close()  # type: ignore[attr-defined]


SCREEN_CHILD = r"""
import json, sys, time
import locust  # noqa: F401  (gevent's patches, as in a Locust worker)
import gevent
import redis
from kitchen import keys
from loadtests.screen import Screen

url, tok, channel, rid, redis_url = sys.argv[1:6]
names, got = [], []

class Request:
    def fire(self, **kw):
        names.append([kw["name"], kw["exception"] is not None])

class Env:
    class events:
        request = Request()

store = redis.Redis.from_url(redis_url)

def snapshot():
    newest = store.xrevrange(keys.log(rid), count=1)
    return newest[0][0].decode(), store.get(keys.epoch(rid)).decode()

screen = Screen(Env(), url, tok, [channel], rid, "station-wok",
                lambda frame, ms: got.append(frame["pos"]), snapshot)
screen.open()
print("ready", flush=True)
deadline = time.monotonic() + 20
while not any(n.startswith("resume") for n, _ in names) and time.monotonic() < deadline:
    gevent.sleep(0.05)  # told to reload, it loads its snapshot and subscribes again
print("reloaded", flush=True)
while len(got) < 2 and time.monotonic() < deadline:
    gevent.sleep(0.05)
screen.close()
print(json.dumps({"got": got, "names": names}), flush=True)
"""


async def test_a_screen_told_to_reload_on_a_live_connection_goes_on_from_its_snapshot(
        redis: aioredis.Redis, redis_url: str) -> None:
    """The log is rebuilt under a new epoch while a generator's screen is live: the hub drops
    its channels with a reload. The screen counts it, loads its snapshot, subscribes again
    and gets the next tickets, instead of going deaf for the rest of the run."""
    await open_restaurant(redis)
    await publish(redis, *placed(1))
    async with running_hub(hub_settings(redis_url)) as (_, url):
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SCREEN_CHILD, url, token("station", station="wok"),
            "station:r1:wok", "r1", redis_url, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            assert child.stdout is not None
            ready = await asyncio.wait_for(child.stdout.readline(), 30)
            if ready.strip() != b"ready":
                assert child.stderr is not None
                raise AssertionError((await child.stderr.read()).decode()[-2000:])
            await redis.set(keys.epoch("r1"), "epoch-2")  # a rebuild
            line = await asyncio.wait_for(child.stdout.readline(), 30)
            assert line.strip() == b"reloaded", line
            positions = await publish(redis, *placed(2, start=2))
            result = json.loads(await asyncio.wait_for(child.stdout.readline(), 30))
        finally:
            if child.returncode is None:
                child.kill()
            await child.wait()
    assert result["got"] == positions, result
    assert ["reload station", False] in result["names"]
    assert not [n for n, failed in result["names"] if failed]
