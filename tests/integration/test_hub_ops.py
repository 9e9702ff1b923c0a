"""Operations: health, metrics, presence, msgpack, log rebuilds, new restaurants, two hubs."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import urllib.request

import msgpack
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from hub import server
from kitchen import codec, keys
from tests.integration.hub_support import (
    EPOCH,
    R,
    cart,
    client,
    hub_settings,
    open_restaurant,
    placed,
    publish,
    running_hub,
    token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def http_get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()


async def test_healthz_and_metrics(redis: aioredis.Redis, redis_url: str) -> None:
    """/healthz answers ok; /metrics counts connections, deliveries and lag (Prometheus text)."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        base = url.replace("ws://", "http://")
        assert (await asyncio.to_thread(http_get, base + "/healthz"))[::2] == (200, "ok\n")
        async with client(url, token("expo")) as c:
            await c.subscribe(["expo:r1"])
            await publish(redis, *placed(3))
            await c.events(3)
            status, kind, text = await asyncio.to_thread(http_get, base + "/metrics")
        assert status == 200 and kind.startswith("text/plain")
        assert "hub_connections 1" in text and "hub_subscriptions 1" in text
        assert "hub_deliveries_total 3" in text and "hub_lag_ms_count 3" in text


async def test_msgpack_subprotocol_gets_binary_frames(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A client offering kitchen.msgpack gets every frame as msgpack, events included."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with connect(f"{url}/?token={token('expo')}",
                           subprotocols=["kitchen.msgpack"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "kitchen.msgpack"
            assert msgpack.unpackb(await ws.recv())["op"] == "hello"
            await ws.send(msgpack.packb({"op": "sub", "id": 1, "channels": ["expo:r1"]}))
            assert msgpack.unpackb(await ws.recv())["op"] == "ack"
            pos = await publish(redis, *placed(1))
            frame = msgpack.unpackb(await ws.recv())
            assert (frame["op"], frame["type"], frame["pos"]) == ("event", "order.placed", pos[0])


async def test_presence_tracks_screens_and_tells_the_board(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A station screen appears in k:{R}:presence and in the board's presence frames while it
    is connected, and disappears from both when it leaves."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("merchant")) as board:
            await board.subscribe(["board:r1"])
            await board.until("presence")
            async with client(url, token("station", station="wok") + "&screen=wok-1"):
                frame = await board.until("presence")
                assert "wok-1" in [s["screen"] for s in frame["screens"]]
                stored = await redis.hgetall(keys.presence(R))
                info = codec.unpack(stored[b"wok-1"])
                assert info["role"] == "station" and info["station"] == "wok"
            frame = await board.until("presence")
            assert "wok-1" not in [s["screen"] for s in frame["screens"]]
            assert b"wok-1" not in await redis.hgetall(keys.presence(R))


async def test_a_screen_name_shared_by_two_tablets_stays_while_either_is_here(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Two wok tablets under one screen name: the newer leaves, the older is still here, and
    the board still lists the wok; only when both have left does it go."""
    await open_restaurant(redis)
    wok = token("station", station="wok") + "&screen=station-wok"
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("merchant")) as board:
            await board.subscribe(["board:r1"])
            await board.until("presence")
            async with client(url, wok):
                async with client(url, wok):
                    await board.until("presence")
                await asyncio.sleep(0.5)  # the newer tablet's leaving has been handled
                assert b"station-wok" in await redis.hgetall(keys.presence(R))
            frame = await board.until("presence")
            assert "station-wok" not in [s["screen"] for s in frame["screens"]]
            assert b"station-wok" not in await redis.hgetall(keys.presence(R))


async def test_rebuilt_log_makes_live_screens_reload(
        redis: aioredis.Redis, redis_url: str) -> None:
    """When a restaurant's epoch changes, every screen watching it gets a reload frame."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        async with client(url, token("diner", table="T1")) as c:
            await c.subscribe(["table:r1:T1"])
            await redis.set(keys.epoch(R), "epoch-2")
            frame = await c.until("reload")
            assert (frame["reason"], frame["epoch"]) == ("epoch", "epoch-2")
            assert hub.registry.watching("table:r1:T1") == set()


async def test_a_restaurant_created_after_start_is_served(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A subscription to a restaurant the hub has not seen yet loads it and goes live."""
    async with running_hub(hub_settings(redis_url)) as (_, url):
        await open_restaurant(redis)
        async with client(url, token("diner", table="T1")) as c:
            ack = await c.subscribe(["table:r1:T1"])
            assert ack["positions"][R]["epoch"] == EPOCH
            pos = await publish(redis, cart())
            assert [e["pos"] for e in await c.events(1)] == pos


async def test_two_hubs_serve_the_same_log(redis: aioredis.Redis, redis_url: str) -> None:
    """Two hub processes each read the streams: a screen on each gets every event, and a screen
    moving from one hub to the other resumes without loss."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url_a), \
            running_hub(hub_settings(redis_url)) as (_, url_b):
        async with client(url_a, token("expo")) as a, client(url_b, token("expo")) as b:
            await a.subscribe(["expo:r1"])
            await b.subscribe(["expo:r1"])
            pos = await publish(redis, *placed(3))
            assert [e["pos"] for e in await a.events(3)] == pos
            assert [e["pos"] for e in await b.events(3)] == pos
        missed = await publish(redis, *placed(2, start=5))
        async with client(url_b, token("expo")) as moved:
            ack = await moved.subscribe(["expo:r1"], {R: {"pos": pos[-1], "epoch": EPOCH}})
            assert ack["op"] == "ack"  # replayed, or live if this hub had not read them yet
            assert [e["pos"] for e in await moved.events(2)] == missed


async def test_keepalive_pings_every_connection_and_closes_a_silent_one_with_1011(
        redis: aioredis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One sweep pings every connection: a client that answers stays open, a client that never
    answers gets close 1011 one interval after its ping, and nothing else changes for the
    first (it keeps receiving events)."""
    monkeypatch.setattr(server, "PING_INTERVAL_S", 0.4)
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        port = int(url.rsplit(":", 1)[1])
        async with client(url, token("expo")) as alive:  # websockets answers pings itself
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write((f"GET /ws?token={token('expo')} HTTP/1.1\r\nHost: x\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                          ).encode())
            pings, code = 0, None
            async with asyncio.timeout(5):
                assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
                while code is None:
                    head = await reader.readexactly(2)
                    n = head[1] & 0x7F
                    if n == 126:
                        n = struct.unpack("!H", await reader.readexactly(2))[0]
                    body = await reader.readexactly(n)
                    if head[0] & 0x0F == 0x9:
                        pings += 1
                    elif head[0] & 0x0F == 0x8:
                        code = struct.unpack("!H", body[:2])[0]
            writer.close()
            assert code == 1011 and pings == 1
            await alive.subscribe(["expo:r1"])
            await publish(redis, *placed(1))
            assert len(await alive.events(1)) == 1
            [conn] = [c for c in hub.registry.conns.values() if c.is_open]
            assert conn.is_open and conn.ws.latency > 0  # pinged, and its pong came back
