"""The hub follows the commits' hints (``k:news``) and still misses nothing without them."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from hub import feed
from kitchen import keys
from tests.integration.hub_support import (
    R,
    client,
    hub_settings,
    open_restaurant,
    placed,
    publish,
    running_hub,
    token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
EXPO = "expo:r1"
OTHERS = [f"q{n}" for n in range(30)]


async def _live(hub: object, want: bool = True, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while hub.feed.news.live is not want:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"news subscription never became {want}"
        await asyncio.sleep(0.02)


async def test_a_hinted_event_arrives_at_once_and_only_its_log_is_read(
        redis: aioredis.Redis, redis_url: str) -> None:
    """With thirty other restaurants followed, an event and its hint reach the screen within
    a fraction of the sweep, and the read that fetched it named only its restaurant's log."""
    await open_restaurant(redis)
    for rid in OTHERS:
        await open_restaurant(redis, rid)
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        for rid in OTHERS:
            await hub.feed.ensure(rid)
        await _live(hub)
        commands: list[bytes] = []
        command = hub.feed.tail.command

        def spy(only: object = None) -> bytes:
            packed = command(only)  # type: ignore[arg-type]
            commands.append(packed)
            return packed

        hub.feed.tail.command = spy  # type: ignore[method-assign]
        async with client(url, token("expo")) as c:
            await c.subscribe([EXPO])
            await asyncio.sleep(feed.SWEEP_S * 1.2)  # past the sweep that may follow the subscribe
            commands.clear()
            started = time.monotonic()
            await publish(redis, *placed(1))
            (event,) = await c.events(1, wait=feed.SWEEP_S)
            assert time.monotonic() - started < feed.SWEEP_S / 2
        assert event["data"]["order"]["no"] == 1
        mine, others = keys.log(R).encode(), [keys.log(o).encode() for o in OTHERS]
        assert any(mine in c and not any(o in c for o in others) for c in commands)


async def test_an_event_nobody_announced_arrives_with_the_next_sweep(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A writer that publishes no hint (an older API, a rebuild) is read at the next sweep."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        await _live(hub)
        async with client(url, token("expo")) as c:
            await c.subscribe([EXPO])
            await publish(redis, *placed(2), hint=False)
            got = await c.events(2, wait=feed.SWEEP_S * 3)
        assert [e["data"]["order"]["no"] for e in got] == [1, 2]


async def test_events_whose_hints_were_lost_still_arrive_promptly(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Killing the subscription loses the hints published meanwhile, not the events: losing
    and regaining it each set off a read of every log, and the hub subscribes again."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url)) as (hub, url):
        await _live(hub)
        news = hub.feed.news
        async with client(url, token("expo")) as c:
            await c.subscribe([EXPO])
            before = news.subscriptions
            await asyncio.sleep(feed.SWEEP_S * 1.2)  # the next sweep is a while away
            await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            started = time.monotonic()
            await publish(redis, *placed(3))
            got = await c.events(3, wait=feed.SWEEP_S)
            assert [e["data"]["order"]["no"] for e in got] == [1, 2, 3]
            assert time.monotonic() - started < feed.SWEEP_S / 2
            deadline = time.monotonic() + 5
            while news.subscriptions == before or not news.live:
                assert time.monotonic() < deadline, "the hub never subscribed again"
                await asyncio.sleep(0.02)
            await publish(redis, *placed(1, start=4))
            (late,) = await c.events(1, wait=feed.SWEEP_S)
            assert late["data"]["order"]["no"] == 4


async def test_with_hints_off_the_hub_reads_every_log_in_one_blocking_read(
        redis: aioredis.Redis, redis_url: str) -> None:
    """HUB_NEWS=0 (or a Redis URL it cannot subscribe on): no subscription; events without
    hints still arrive at once."""
    await open_restaurant(redis)
    async with running_hub(hub_settings(redis_url, hub_news=False)) as (hub, url):
        async with client(url, token("expo")) as c:
            await c.subscribe([EXPO])
            started = time.monotonic()
            await publish(redis, *placed(2), hint=False)
            got = await c.events(2, wait=feed.SWEEP_S)
            assert time.monotonic() - started < feed.SWEEP_S / 2
        assert [e["data"]["order"]["no"] for e in got] == [1, 2]
        assert hub.feed.news.subscriptions == 0
