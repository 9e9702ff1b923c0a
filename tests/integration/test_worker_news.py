"""A runner that follows the commits' hints reads the logs they name, and misses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis

from kitchen import keys
from kitchen.news import News
from workers.runner import Entry, Runner, RunnerOptions

pytestmark = pytest.mark.asyncio(loop_scope="session")
OTHERS = [f"q{n}" for n in range(20)]


async def _add(redis: aioredis.Redis, rid: str, *payloads: bytes, hint: bool = True) -> None:
    await redis.sadd(keys.RESTAURANTS, rid)
    for p in payloads:
        await redis.xadd(keys.log(rid), {keys.STREAM_FIELD: p})
    if hint:  # as the commit script does
        await redis.publish(keys.NEWS, keys.log(rid))


async def _until(check: Any, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)


Following = tuple[Runner, News, list[bytes], list[list[str]], list[asyncio.Task[None]]]


async def _following(redis: aioredis.Redis, redis_url: str, sweep_ms: int) -> Following:
    """A runner with its own news subscription, over r1 and twenty others, its reads spied."""
    for rid in ["r1", *OTHERS]:
        await _add(redis, rid, hint=False)
    seen: list[bytes] = []
    reads: list[list[str]] = []

    async def handle(batch: Sequence[Entry]) -> None:
        seen.extend(e.raw for e in batch)

    news = News(redis_url)
    options = RunnerOptions("g", "c1", block_ms=200, discover_every_s=0.05,
                            reclaim_every_s=5, sweep_ms=sweep_ms)
    runner = Runner(redis, handle, options, news=news)
    xreadgroup = redis.xreadgroup

    async def spy(group: str, consumer: str, streams: dict[str, str], **kw: Any) -> Any:
        reads.append(sorted(streams))
        return await xreadgroup(group, consumer, streams, **kw)

    runner.redis = type("Spied", (), {"__getattr__": lambda _, n: getattr(redis, n),
                                      "xreadgroup": staticmethod(spy)})()
    tasks = [asyncio.create_task(news.run(lambda: runner.stopping)),
             asyncio.create_task(runner.run())]
    await _until(lambda: news.live and len(runner.streams) == 1 + len(OTHERS))
    return runner, news, seen, reads, tasks


async def _stop(runner: Runner, tasks: list[asyncio.Task[None]]) -> None:
    runner.stop()
    await tasks[1]
    tasks[0].cancel()
    await asyncio.gather(tasks[0], return_exceptions=True)


async def test_a_hinted_append_is_read_at_once_by_naming_only_its_log(
        redis: aioredis.Redis, redis_url: str) -> None:
    """With twenty other restaurants, an append and its hint are handled well before the
    next sweep, by a read that names only that restaurant's log."""
    runner, _, seen, reads, tasks = await _following(redis, redis_url, sweep_ms=5_000)
    try:
        await asyncio.sleep(0.3)  # past the first sweep
        reads.clear()
        started = time.monotonic()
        await _add(redis, "r1", b"a", b"b")
        await _until(lambda: len(seen) >= 2)
        assert time.monotonic() - started < 1.0
        assert [keys.log("r1")] in reads
        assert all(len(r) == 1 for r in reads)  # no read named every log meanwhile
    finally:
        await _stop(runner, tasks)
    assert seen == [b"a", b"b"]


async def test_an_append_nobody_announced_is_read_at_the_next_sweep(
        redis: aioredis.Redis, redis_url: str) -> None:
    """A writer that publishes no hint is still read: every log, once each sweep."""
    runner, _, seen, reads, tasks = await _following(redis, redis_url, sweep_ms=300)
    try:
        await _add(redis, "q7", b"quiet", hint=False)
        await _until(lambda: seen == [b"quiet"], within=2.0)
        assert any(len(r) == 1 + len(OTHERS) for r in reads)
    finally:
        await _stop(runner, tasks)
    assert await redis.xpending(keys.log("q7"), "g") == {
        "pending": 0, "min": None, "max": None, "consumers": []}


async def test_without_the_subscription_the_runner_reads_every_log_blocking(
        redis: aioredis.Redis, redis_url: str) -> None:
    """Killing the subscription: the runner goes back to blocking on every log and loses
    nothing appended meanwhile; it follows hints again once resubscribed."""
    runner, news, seen, _, tasks = await _following(redis, redis_url, sweep_ms=5_000)
    try:
        before = news.subscriptions
        await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await _add(redis, "q3", b"during")
        await _until(lambda: b"during" in seen, within=2.0)
        await _until(lambda: news.live and news.subscriptions > before)
        await _add(redis, "q4", b"after")
        await _until(lambda: b"after" in seen, within=2.0)
    finally:
        await _stop(runner, tasks)
