"""Authorisation and bad input: refusals are precise, and the hub keeps serving everyone."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

import hub.server
from kitchen import keys, tokens
from tests.integration.hub_support import (
    SECRET,
    client,
    hub_settings,
    open_restaurant,
    placed,
    publish,
    running_hub,
    token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHANNELS = [
    f"{kind}:{r}:{sub}" if sub else f"{kind}:{r}"
    for kind, r in itertools.product(("station", "expo", "table", "board", "menu", "all"),
                                     ("r1", "r2"))
    for sub in {"station": ("wok", "grill"), "table": ("T1", "T2")}.get(kind, ("",))
]
ALLOWED = {
    "diner": {"table:r1:T1", "menu:r1"},
    "station": {"station:r1:wok", "menu:r1"},
    "expo": {"expo:r1", "station:r1:wok", "station:r1:grill", "menu:r1"},
    "merchant": {c for c in CHANNELS if ":r1" in c},
}
TOKENS = {
    "diner": lambda: token("diner", table="T1", session="s1"),
    "station": lambda: token("station", station="wok"),
    "expo": lambda: token("expo"),
    "merchant": lambda: token("merchant"),
}


async def test_every_forbidden_subscription_is_refused(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Over a real hub, each role is refused every channel outside its scope with a forbidden
    error naming the channel, and is granted each channel inside it on the same connection."""
    await open_restaurant(redis)
    await open_restaurant(redis, "r2")
    async with running_hub(hub_settings(redis_url)) as (_, url):
        for role, make in TOKENS.items():
            async with client(url, make()) as c:
                for i, channel in enumerate(CHANNELS):
                    await c.send({"op": "sub", "id": i, "channels": [channel]})
                    reply = await c.reply()
                    if channel in ALLOWED[role]:
                        assert (reply["op"], reply["channels"]) == ("ack", [channel]), role
                    else:
                        assert (reply["op"], reply["code"], reply["channel"], reply["id"]) == (
                            "error", "forbidden", channel, str(i)), (role, reply)


async def test_a_refused_request_subscribes_nothing(redis: aioredis.Redis, redis_url: str) -> None:
    """A request mixing allowed and forbidden channels is refused whole: no event leaks."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("station", station="wok")) as c:
            await c.send({"op": "sub", "id": 1, "channels": ["station:r1:wok", "expo:r1"]})
            assert (await c.recv())["code"] == "forbidden"
            await publish(redis, *placed(1))
            assert await c.quiet() == []


@pytest.mark.parametrize(("tok", "reason"), [
    ("", "malformed token"),
    ("abc.def", "malformed token"),
    (tokens.issue([SECRET], "expo", ["r1"], ttl=60, now=0)[0], "token expired"),
    (tokens.issue(["x" * 40], "expo", ["r1"], ttl=60)[0], "unknown or retired key"),
    (tokens.issue([SECRET], "qr", ["r1"], ttl=0, table="T1")[0], "QR token"),
])
async def test_bad_tokens_are_closed_with_4001(redis_url: str, tok: str, reason: str) -> None:
    """A missing, forged, expired or QR token gets an unauthorized error, then close 4001."""
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with connect(f"{url}/?token={tok}") as ws:
            frame = json.loads(await ws.recv())
            assert frame["code"] == "unauthorized" and reason in frame["reason"]
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001


async def test_revoked_token_is_refused_and_cut(redis: aioredis.Redis, redis_url: str) -> None:
    """Revoking a token's id closes its live connection with 4001 and refuses it afterwards."""
    await open_restaurant(redis)
    tok, claims = tokens.issue([SECRET], "station", ["r1"], ttl=600, station="wok")
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        async with client(url, tok) as c:
            await c.subscribe(["station:r1:wok"])
            await redis.sadd(keys.revoked("r1"), claims.jti)
            with pytest.raises(ConnectionClosed) as info:
                await c.recv(wait=5)
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001
        async with connect(f"{url}/?token={tok}") as ws:
            assert "revoked" in json.loads(await ws.recv())["reason"]
        assert hub.metrics.refused == 1


def expiring(seconds: float) -> str:
    """A station token that expires in about ``seconds`` (its expiry is a whole second)."""
    return tokens.issue([SECRET], "station", ["r1"], ttl=60, station="wok",
                        now=time.time() + seconds - 60)[0]


async def test_a_token_that_expires_while_connected_is_cut(
        redis: aioredis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A screen whose token expires is closed with 4001 at the next keepalive round, as the
    API refuses that token from then on; a screen whose token is still good keeps its feed."""
    monkeypatch.setattr(hub.server, "PING_INTERVAL_S", 0.5)
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, expiring(2)) as short, \
                client(url, token("station", station="wok")) as good:
            await short.subscribe(["station:r1:wok"])
            await good.subscribe(["station:r1:wok"])
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await short.recv(wait=8)
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001
            assert info.value.rcvd.reason == "token expired"
            assert 0.5 < time.monotonic() - started < 5
            await publish(redis, *placed(1))
            assert (await good.events(1))[0]["data"]["order"]["id"] == "o1"


async def test_an_expired_token_cannot_subscribe(
        redis: aioredis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every subscription checks the token's expiry, not only the connect: once it has
    passed, a subscription gets an unauthorized error and the connection is closed 4001."""
    monkeypatch.setattr(hub.server, "PING_INTERVAL_S", 600.0)  # no keepalive round meanwhile
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, expiring(1.5)) as c:
            assert (await c.subscribe(["station:r1:wok"]))["op"] == "ack"
            await asyncio.sleep(2.6)
            await c.send({"op": "sub", "id": "late", "channels": ["menu:r1"]})
            frame = await c.recv()
            assert frame["op"] == "error" and frame["code"] == "unauthorized", frame
            assert frame["id"] == "late" and frame["reason"] == "token expired"
            with pytest.raises(ConnectionClosed) as info:
                await c.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001


async def test_malformed_and_unknown_frames_get_errors_and_the_connection_works(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Bad JSON, bad msgpack, unknown ops and malformed channels each get an error frame with a
    code, and the same connection then subscribes and receives events."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("expo")) as c:
            cases: list[tuple[str | bytes, str]] = [
                ("{oops", "bad_encoding"),
                (b"\xc1\xc1", "bad_encoding"),
                ('{"op":"fly","id":1}', "unknown_op"),
                ('{"op":"sub","id":2,"channels":["nope"]}', "bad_channel"),
                ('{"op":"sub","id":3,"channels":["expo:r1"],"from":{"r1":{"pos":"x"}}}',
                 "bad_request"),
                ('"just a string"', "bad_request"),
            ]
            for raw, code in cases:
                await c.ws.send(raw)
                reply = await c.recv()
                assert (reply["op"], reply["code"]) == ("error", code), raw
            await c.send({"op": "ping", "id": "p"})
            assert (await c.recv())["op"] == "pong"
            await c.subscribe(["expo:r1"])
            await publish(redis, *placed(1))
            assert len(await c.events(1)) == 1


async def test_oversized_frame_closes_only_that_connection(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A frame over the size limit closes its connection with 1009; another client is served."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("expo")) as bystander, client(url, token("expo")) as big:
            await bystander.subscribe(["expo:r1"])
            await big.ws.send("x" * 5000)
            with pytest.raises(ConnectionClosed) as info:
                await big.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009
            await publish(redis, *placed(1))
            assert len(await bystander.events(1)) == 1


async def test_a_flood_of_bad_requests_is_closed_with_1008(redis_url: str) -> None:
    """More than MAX_ERRORS bad requests close the connection with a policy violation."""
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("expo")) as c:
            for _ in range(25):
                await c.ws.send("{bad")
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await c.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008


async def test_channel_limit_per_connection(redis: aioredis.Redis, redis_url: str) -> None:
    """A connection cannot hold more than MAX_CHANNELS channels, whatever the requests."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("merchant")) as c:
            ack = await c.subscribe([f"table:r1:A{j}" for j in range(40)])
            assert len(ack["channels"]) == 40
            await c.send({"op": "sub", "id": "x",
                          "channels": [f"table:r1:B{j}" for j in range(40)]})
            assert (await c.recv())["code"] == "too_many_channels"


async def test_a_token_offered_as_a_subprotocol_keeps_it_out_of_the_url(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A screen may offer its token as the subprotocol kitchen.token.<token>, a header that
    proxies do not log as they log URLs. The hub takes it, chooses kitchen.json, and refuses a
    forged one as it would in the query."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (_, url):
        offered = [Subprotocol("kitchen.json"),
                   Subprotocol("kitchen.token." + token("station", station="wok"))]
        async with connect(f"{url}/ws", subprotocols=offered) as ws:
            assert ws.subprotocol == "kitchen.json"
            assert json.loads(await ws.recv())["op"] == "hello"
            await ws.send(json.dumps({"op": "sub", "id": "s", "channels": ["station:r1:wok"]}))
            assert json.loads(await ws.recv())["op"] == "ack"
        forged = [Subprotocol("kitchen.json"), Subprotocol("kitchen.token.forged.token")]
        async with connect(f"{url}/ws", subprotocols=forged) as ws:
            assert json.loads(await ws.recv())["code"] == "unauthorized"
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001
