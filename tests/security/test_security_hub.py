"""Hostile clients of the hub: fuzzed frames, floods of subscriptions, too many connections.

Whatever a client sends, it gets error frames or a close code that says why, other clients
keep being served, and the hub's handler never fails (no 1011, nothing logged as an error).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from contextlib import AsyncExitStack

import msgpack
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hub import protocol
from kitchen import tokens
from tests.integration.hub_support import (
    SECRET,
    Client,
    client,
    hub_settings,
    open_restaurant,
    placed,
    publish,
    running_hub,
    token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

VALID = {"op": "sub", "id": "1", "channels": ["expo:r1"],
         "from": {"r1": {"pos": "0-0", "epoch": "epoch-1"}}}


def hostile_frames(rng: random.Random, n: int) -> list[str | bytes]:
    """Random bytes and text, truncated and mangled requests, odd types, deep nesting."""
    text = json.dumps(VALID)
    packed = msgpack.packb(VALID)
    makers = [
        lambda: rng.randbytes(rng.randint(0, 300)),
        lambda: "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 200))),
        lambda: text[: rng.randint(0, len(text) - 1)],
        lambda: packed[: rng.randint(0, len(packed) - 1)],
        lambda: json.dumps({"op": rng.choice(["sub", "unsub", "ping", "SUB", "", None, 7]),
                            "id": rng.choice([None, 1, "x" * 70, [], {}, True, 1.5]),
                            "channels": rng.choice([None, [], "expo:r1", [1], ["a:b:c:d"],
                                                    ["expo:"], ["station:r1:"], [None]]),
                            "from": rng.choice([None, [], {"r1": None}, {"r1": {"pos": 1}},
                                                {"r1": {"pos": "9" * 30, "epoch": "e"}}])}),
        lambda: "[" * rng.randint(500, 4000),
        lambda: ("[" * 1500) + ("]" * 1500),
        lambda: b"\x91" * rng.randint(100, 4000),
        lambda: msgpack.packb({"op": "sub", "channels": [rng.randbytes(8)]}),
        lambda: json.dumps({"op": "sub", "channels": ["expo:r1"], "id": 10 ** 70}),
        lambda: '{"op": "ping", "id": 1e999}',
        lambda: '{"op": "sub", "channels": ["expo:r1"], "from": {"r1": {"pos": "0-0", '
                '"epoch": "\\ud800"}}}',
    ]
    return [rng.choice(makers)() for _ in range(n)]


async def test_fuzzed_frames_never_break_the_hub(redis: aioredis.Redis, redis_url: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """600 random, truncated, binary and deeply nested frames each get an answer; oversized
    ones close their connection with 1009; no handler fails, and a normal client is served
    throughout."""
    await open_restaurant(redis)
    rng = random.Random(20261125)
    frames = hostile_frames(rng, 600)
    caplog.set_level(logging.ERROR)
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        async with client(url, token("expo")) as bystander:
            await bystander.subscribe(["expo:r1"])
            sent = 0
            while sent < len(frames):
                batch = frames[sent:sent + protocol.MAX_ERRORS]
                sent += len(batch)
                async with client(url, token("expo")) as fuzz:
                    for raw in batch:
                        await fuzz.ws.send(raw)
                        answer = await fuzz.reply()
                        assert answer["op"] in ("error", "ack", "pong", "reload"), answer
                        if answer["op"] == "error":
                            assert answer["code"] and not answer["temporary"], answer
            for big in ("x" * 5000, rng.randbytes(70_000), json.dumps(
                    {"op": "sub", "channels": ["expo:r1"] * 2000})):
                async with client(url, token("expo")) as fuzz:
                    await fuzz.ws.send(big)
                    with pytest.raises(ConnectionClosed) as info:
                        await fuzz.reply()
                    assert info.value.rcvd is not None
                    assert info.value.rcvd.code == protocol.CLOSE_TOO_BIG
            await publish(redis, *placed(1))
            assert len(await bystander.events(1)) == 1
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []
    assert hub.metrics.errors > 0


async def test_deeply_nested_frame_is_a_bad_encoding(redis_url: str) -> None:
    """JSON nested thousands deep (valid, under the size limit) is refused as bad_encoding and
    the connection stays usable, instead of failing the handler with 1011."""
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("expo")) as c:
            await c.ws.send("[" * 4000)
            assert (await c.reply())["code"] == "bad_encoding"
            await c.ws.send(("[" * 2000) + ("]" * 2000))
            assert (await c.reply())["code"] == "bad_encoding"
            await c.send({"op": "ping", "id": "p"})
            assert (await c.reply())["op"] == "pong"


async def test_a_flood_of_subscriptions_is_bounded(redis: aioredis.Redis, redis_url: str
                                                   ) -> None:
    """A flood of valid subscriptions on one connection holds at most MAX_CHANNELS channels,
    then is refused, then cut with 1008; another client keeps getting its events meanwhile."""
    await open_restaurant(redis)
    flood_size = protocol.MAX_CHANNELS + protocol.MAX_ERRORS + 10
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        async with client(url, token("merchant")) as flood, \
                client(url, token("expo")) as bystander:
            await bystander.subscribe(["expo:r1"])
            for i in range(flood_size):
                await flood.send({"op": "sub", "id": i, "channels": [f"table:r1:T{i}"]})
            answers = []
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    answers.append(await flood.reply())
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008
            acks = [a for a in answers if a["op"] == "ack"]
            refused = {a["code"] for a in answers if a["op"] == "error"}
            assert len(acks) == protocol.MAX_CHANNELS and refused == {"too_many_channels"}
            assert hub.registry.subscriptions <= 1
            await publish(redis, *placed(1))
            assert len(await bystander.events(1, wait=2)) == 1


async def test_connections_per_token_are_limited(redis: aioredis.Redis, redis_url: str) -> None:
    """A token holds at most MAX_CONNECTIONS_PER_TOKEN connections: the next one gets a
    temporary too_many_connections error and close 4029; closing one frees a place; other
    tokens are not affected."""
    await open_restaurant(redis)
    tok, claims = tokens.issue([SECRET], "station", ["r1"], ttl=600, station="wok")
    limit = protocol.MAX_CONNECTIONS_PER_TOKEN
    async with running_hub(hub_settings(redis_url)) as (hub, url), AsyncExitStack() as stack:
        held: list[Client] = [await stack.enter_async_context(client(url, tok))
                              for _ in range(limit)]
        assert all(c.hello["op"] == "hello" for c in held)
        assert held[0].hello["limits"]["max_connections_per_token"] == limit
        async with connect(f"{url}/?token={tok}") as ws:
            frame = json.loads(await ws.recv())
            assert (frame["code"], frame["temporary"]) == ("too_many_connections", True)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            assert info.value.rcvd.code == protocol.CLOSE_TOO_MANY
        async with client(url, token("station", station="wok")) as other:
            assert other.hello["op"] == "hello"
        await held.pop().ws.close()
        for _ in range(50):
            if hub.registry.of_token(claims.jti) < limit:
                break
            await asyncio.sleep(0.02)
        async with client(url, tok) as again:
            assert again.hello["op"] == "hello"
