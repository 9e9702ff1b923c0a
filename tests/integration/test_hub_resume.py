"""Resume: a screen that comes back gets exactly what it missed, or is told to reload."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from websockets.exceptions import ConnectionClosed

import hub.feed
from hub.protocol import parse_pos
from kitchen import keys
from kitchen.embedded import free_port
from kitchen.events import StockChanged
from tests.integration.hub_support import (
    EPOCH,
    SECRET,
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
from tests.integration.test_worker_kit import until

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
WOK = "station:r1:wok"


async def test_resume_after_missed_events_gets_exactly_those_in_order(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A station that drops and misses 7 of its events (among others) gets exactly those 7."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        async with client(url, token("station", station="wok")) as c:
            ack = await c.subscribe([WOK])
            assert ack["positions"][R]["epoch"] == EPOCH
            await publish(redis, *placed(3))
            seen = await c.events(3)
        last = seen[-1]["pos"]
        mine = placed(7, start=10)
        others = placed(5, start=30, station="grill")
        mixed = [e for pair in zip(mine, others, strict=False) for e in pair]
        positions = await publish(redis, *mixed, *mine[5:])
        wanted = [p for i, p in enumerate(positions) if i % 2 == 0 or i >= 10]
        assert await hub.feed.reach(R, parse_pos(positions[-1]), 5)  # replayed, not live
        async with client(url, token("station", station="wok")) as c:
            ack = await c.subscribe([WOK], {R: {"pos": last, "epoch": EPOCH}})
            assert ack["op"] == "ack" and ack["replayed"] == {R: 7}
            got = await c.events(7)
            assert [e["pos"] for e in got] == wanted
            assert [e["data"]["order"]["no"] for e in got] == list(range(10, 17))
            assert await c.quiet() == []
            live = await publish(redis, *placed(1, start=50))
            assert [e["pos"] for e in await c.events(1)] == live


async def test_no_gap_and_no_duplicate_between_replay_and_live(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Resuming while events keep arriving yields every later event once, in order."""
    await open_restaurant(redis)
    first = await publish(redis, cart())
    async with running_hub(hub_settings(redis_url, hub_window=1000)) as (_, url):
        stop = asyncio.Event()
        published: list[str] = []

        async def producer() -> None:
            while not stop.is_set():
                published.extend(await publish(redis, cart(), cart()))
                await asyncio.sleep(0.002)

        task = asyncio.create_task(producer())
        await asyncio.sleep(0.1)
        async with client(url, token("diner", table="T1")) as c:
            await c.subscribe(["table:r1:T1"], {R: {"pos": first[0], "epoch": EPOCH}})
            await asyncio.sleep(0.3)
            stop.set()
            await task
            got = await c.events(len(published))
            assert [e["pos"] for e in got] == published
            assert await c.quiet() == []


async def test_far_behind_client_is_told_to_reload(redis: aioredis.Redis, redis_url: str) -> None:
    """A position older than the window gets a reload frame and no partial replay."""
    await open_restaurant(redis)
    old = await publish(redis, cart())
    await publish(redis, *[cart() for _ in range(30)])
    async with running_hub(hub_settings(redis_url, hub_window=10)) as (_, url):
        async with client(url, token("diner", table="T1")) as c:
            frame = await c.subscribe(["table:r1:T1"], {R: {"pos": old[0], "epoch": EPOCH}})
            assert frame["op"] == "reload" and frame["reason"] == "too_old"
            assert frame["channels"] == ["table:r1:T1"] and frame["epoch"] == EPOCH
            ack = await c.until("ack")
            assert ack["channels"] == [] and ack["replayed"] == {}
            await publish(redis, cart())
            assert await c.quiet() == []


async def test_other_epoch_is_told_to_reload(redis: aioredis.Redis, redis_url: str) -> None:
    """A position from another epoch of the log (it was rebuilt) gets a reload frame."""
    await open_restaurant(redis)
    pos = await publish(redis, cart())
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("diner", table="T1")) as c:
            frame = await c.subscribe(["table:r1:T1"], {R: {"pos": pos[0], "epoch": "old"}})
            assert frame["op"] == "reload" and frame["reason"] == "epoch"


async def test_subscription_without_position_starts_live(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Without a position the ack carries the current position, and only later events arrive."""
    await open_restaurant(redis)
    before = await publish(redis, cart(), cart())
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("diner", table="T1")) as c:
            ack = await c.subscribe(["table:r1:T1"])
            assert ack["positions"][R] == {"pos": before[-1], "epoch": EPOCH}
            after = await publish(redis, cart())
            assert [e["pos"] for e in await c.events(1)] == after


async def test_resume_across_a_hub_restart(redis: aioredis.Redis, redis_url: str) -> None:
    """A real hub process stopped with SIGTERM says bye, closes with 1012, and its successor
    replays exactly the events published while it was down."""
    await open_restaurant(redis)
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "KITCHEN_SECRET_KEYS": SECRET,
           "HUB_PORT": str(port), "PYTHONPATH": str(ROOT)}
    url = f"ws://127.0.0.1:{port}"
    tok = token("expo")

    first = await _start_hub(env)
    try:
        async with client(url, tok) as c:
            await c.subscribe(["expo:r1"])
            await publish(redis, *placed(2))
            last = (await c.events(2))[-1]["pos"]
            first.send_signal(signal.SIGTERM)
            bye = await c.until("bye")
            assert bye["reason"] == "restart" and bye["retry_ms"] > 0
            with pytest.raises(ConnectionClosed) as info:
                await c.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1012
        async with asyncio.timeout(10):
            assert await first.wait() == 0
    finally:
        await _kill(first)
    missed = await publish(redis, *placed(4, start=20, station="grill"))
    second = await _start_hub(env)
    try:
        async with client(url, tok) as c:
            ack = await c.subscribe(["expo:r1"], {R: {"pos": last, "epoch": EPOCH}})
            assert ack["replayed"] == {R: 4}
            assert [e["pos"] for e in await c.events(4)] == missed
    finally:
        await _kill(second)


async def _start_hub(env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    async with asyncio.timeout(15):
        while b"listening on" not in (line := await proc.stdout.readline()):
            assert line, "the hub exited before listening"
    return proc


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def test_replay_larger_than_the_send_budget_is_a_reload(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A resume whose replay would exceed four send buffers gets reload (too_many), not a
    burst that would cut the screen as slow."""
    await open_restaurant(redis)
    start = await publish(redis, cart())
    await publish(redis, *placed(30, note="x" * 600))
    settings = hub_settings(redis_url, send_buffer_bytes=4096)
    async with running_hub(settings) as (_, url):
        async with client(url, token("expo")) as c:
            frame = await c.subscribe(["expo:r1"], {R: {"pos": start[0], "epoch": EPOCH}})
            assert (frame["op"], frame["reason"]) == ("reload", "too_many")


async def test_position_this_hub_never_reaches_is_a_reload(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A position past anything this hub has read (a client of a faster hub) waits briefly,
    then gets reload (ahead)."""
    await open_restaurant(redis)
    await publish(redis, cart())
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("diner", table="T1")) as c:
            frame = await c.subscribe(["table:r1:T1"],
                                      {R: {"pos": "99999999999999-0", "epoch": EPOCH}})
            assert (frame["op"], frame["reason"]) == ("reload", "ahead")


async def test_adding_a_channel_from_an_older_position_replays_what_no_channel_brought(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A board screen loads its snapshot, watches board:R live, then adds expo:R from the
    snapshot's position. A stock change between the two reaches both channels; the board
    never sent it (it came before the board was watched), so the replay brings it, once.
    What the board did send live is not sent again."""
    await open_restaurant(redis)
    (snapshot,) = await publish(redis, *placed(1))
    (before,) = await publish(redis, StockChanged(R, dish_id="d1", remaining=3))
    async with running_hub(hub_settings(redis_url)) as (_, url):
        async with client(url, token("merchant")) as screen:
            assert (await screen.subscribe([f"board:{R}"]))["op"] == "ack"
            (live,) = await publish(redis, StockChanged(R, dish_id="d1", remaining=2))
            assert [f["pos"] for f in await screen.events(1)] == [live]
            answer = await screen.subscribe([f"expo:{R}"], {R: {"pos": snapshot,
                                                                 "epoch": EPOCH}}, rid="e")
            assert answer["op"] == "ack" and answer["replayed"] == {R: 1}, answer
            assert [f["pos"] for f in await screen.events(1)] == [before]
            assert [f for f in await screen.quiet(0.3) if f["op"] == "event"] == []


async def test_a_log_trimmed_past_what_the_hub_read_while_cut_off_makes_its_screens_reload(
        redis: aioredis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the hub cannot read, the log moves on by more than it keeps: the events the hub
    never read are gone. Its next read would carry on from what is left as if nothing were
    missing; instead the screens on that log are told to reload."""
    monkeypatch.setattr(hub.feed, "SWEEP_S", 60.0)
    await open_restaurant(redis)
    await publish(redis, *placed(1))
    async with running_hub(hub_settings(redis_url)) as (running, url):
        async with client(url, token("station", station="wok")) as screen:
            assert (await screen.subscribe([WOK]))["op"] == "ack"
            hints = running.feed.hints
            await until(lambda: hints.live and hints.next_sweep > time.monotonic(), 5,
                        "the hub reads on news, and has swept once")
            await publish(redis, *placed(3, start=2), hint=False)  # the hub hears nothing
            await redis.xtrim(keys.log(R), maxlen=1, approximate=False)  # and trimmed away
            read = running.feed.tail.read
            failures = [RedisConnectionError("the hub is cut off from Redis")]

            async def cut_off(*args: Any) -> Any:
                if failures:
                    raise failures.pop()
                return await read(*args)

            monkeypatch.setattr(running.feed.tail, "read", cut_off)
            await publish(redis, *placed(1, start=5))  # news: the hub tries to read
            reload = await screen.until("reload", wait=10)
            assert reload["channels"] == [WOK], reload
            assert not [f for f in await screen.quiet(0.3) if f["op"] == "event"]
