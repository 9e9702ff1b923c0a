"""The generic consumer-group runner against a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest
import redis.asyncio as aioredis

from kitchen import keys
from workers.metrics import Metrics, MetricsServer
from workers.runner import Entry, Runner, RunnerOptions

pytestmark = pytest.mark.asyncio(loop_scope="session")



def _options(consumer: str = "c1", max_deliveries: int = 5, visibility_ms: int = 100
             ) -> RunnerOptions:
    """Options with short timers, so that a test takes well under a second."""
    return RunnerOptions("g", consumer, block_ms=50, discover_every_s=0.05,
                         reclaim_every_s=0.05, visibility_ms=visibility_ms,
                         max_deliveries=max_deliveries)


async def _add(redis: aioredis.Redis, rid: str, *payloads: bytes) -> list[str]:
    await redis.sadd(keys.RESTAURANTS, rid)
    return [(await redis.xadd(keys.log(rid), {keys.STREAM_FIELD: p})).decode() for p in payloads]


async def _until(check: Callable[[], bool | Awaitable[bool]]) -> None:
    """Wait (at most 5 s) until ``check()`` is true."""
    async with asyncio.timeout(5):
        while True:
            result = check()
            if result if isinstance(result, bool) else await result:
                return
            await asyncio.sleep(0.02)


async def _has_entries(redis: aioredis.Redis, stream: str) -> bool:
    return bool(await redis.xlen(stream))


async def _pending(redis: aioredis.Redis, rid: str, group: str) -> int:
    info = await redis.xpending(keys.log(rid), group)
    return int(info["pending"])


async def test_entries_of_every_restaurant_reach_the_handler_and_are_acked(
        redis: aioredis.Redis) -> None:
    """Entries of every discovered restaurant stream are handed over in batches and acked."""
    await _add(redis, "r1", b"a", b"b")
    await _add(redis, "r2", b"c")
    seen: list[bytes] = []

    async def handle(batch: Sequence[Entry]) -> None:
        seen.extend(e.raw for e in batch)

    runner = Runner(redis, handle, _options("c1"))
    task = asyncio.create_task(runner.run())
    await _until(lambda: len(seen) >= 3)
    await _add(redis, "r3", b"d")  # a restaurant that appears later is discovered
    await _until(lambda: len(seen) >= 4)
    runner.stop()
    await task
    assert sorted(seen) == [b"a", b"b", b"c", b"d"]
    assert await _pending(redis, "r1", "g") == 0
    assert await _pending(redis, "r3", "g") == 0


async def test_an_existing_group_is_reused(redis: aioredis.Redis) -> None:
    """Creating the group again on a stream that has it (BUSYGROUP) is not an error."""
    await _add(redis, "r1", b"a")
    await redis.xgroup_create(keys.log("r1"), "g", id="0")

    async def handle(batch: Sequence[Entry]) -> None:
        return None

    runner = Runner(redis, handle, _options("c1"))
    await runner.discover()
    runner.streams.clear()
    await runner.discover()
    assert runner.streams == {keys.log("r1")}


async def test_a_poison_entry_goes_to_the_dead_letter_stream_while_others_flow_on(
        redis: aioredis.Redis) -> None:
    """An entry that always fails is dead-lettered after N deliveries; the others are handled."""
    ids = await _add(redis, "r1", b"ok1", b"poison", b"ok2")
    handled: list[bytes] = []
    attempts: list[int] = []

    async def handle(batch: Sequence[Entry]) -> None:
        for entry in batch:
            if entry.raw == b"poison":
                attempts.append(entry.deliveries)
                raise ValueError("cannot digest this")
        handled.extend(e.raw for e in batch)

    metrics = Metrics()
    runner = Runner(redis, handle, _options("c1", max_deliveries=3),
                    metrics)
    task = asyncio.create_task(runner.run())

    await _until(lambda: _has_entries(redis, keys.DEAD_LETTER))
    await _add(redis, "r1", b"ok3")  # the stream keeps flowing afterwards
    await _until(lambda: len(handled) >= 3)
    runner.stop()
    await task
    assert sorted(handled) == [b"ok1", b"ok2", b"ok3"]
    assert sorted(set(attempts)) == [1, 2, 3]  # three deliveries (the first also in a batch)
    [(_, fields)] = await redis.xrange(keys.DEAD_LETTER)
    assert fields[b"id"].decode() == ids[1]
    assert fields[b"stream"].decode() == keys.log("r1")
    assert fields[b"group"] == b"g" and fields[b"consumer"] == b"c1"
    assert b"cannot digest this" in fields[b"error"]
    assert fields[keys.STREAM_FIELD] == b"poison"
    assert await _pending(redis, "r1", "g") == 0
    assert metrics.get("worker_entries_total", group="g", outcome="dead") == 1


async def test_entries_left_by_a_dead_consumer_are_reclaimed(redis: aioredis.Redis) -> None:
    """Entries a vanished consumer read but never acked are taken over after the timeout."""
    await _add(redis, "r1", b"a", b"b")
    await redis.xgroup_create(keys.log("r1"), "g", id="0")
    await redis.xreadgroup("g", "dead-one", {keys.log("r1"): ">"}, count=10)
    seen: list[Entry] = []

    async def handle(batch: Sequence[Entry]) -> None:
        seen.extend(batch)

    runner = Runner(redis, handle, _options("c2"))
    task = asyncio.create_task(runner.run())
    await _until(lambda: len(seen) >= 2)
    runner.stop()
    await task
    assert [e.raw for e in seen] == [b"a", b"b"]
    assert all(e.deliveries == 2 for e in seen)
    assert await _pending(redis, "r1", "g") == 0


async def test_a_restarted_consumer_first_handles_what_it_had_not_acked(
        redis: aioredis.Redis) -> None:
    """A consumer that restarts under the same name handles its unacked entries at once."""
    await _add(redis, "r1", b"a")
    await redis.xgroup_create(keys.log("r1"), "g", id="0")
    await redis.xreadgroup("g", "c1", {keys.log("r1"): ">"}, count=10)
    seen: list[Entry] = []

    async def handle(batch: Sequence[Entry]) -> None:
        seen.extend(batch)

    runner = Runner(redis, handle, _options(visibility_ms=60_000))
    task = asyncio.create_task(runner.run())
    await _until(lambda: len(seen) >= 1)
    runner.stop()
    await task
    assert [(e.raw, e.deliveries) for e in seen] == [(b"a", 2)]


async def test_stop_lets_the_batch_in_progress_finish_and_be_acked(
        redis: aioredis.Redis) -> None:
    """Stopping while a handler runs waits for it, acks its batch, then returns."""
    await _add(redis, "r1", b"slow")
    started = asyncio.Event()
    finished: list[bytes] = []

    async def handle(batch: Sequence[Entry]) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.extend(e.raw for e in batch)

    runner = Runner(redis, handle, _options("c1"))
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 5)
    runner.stop()
    await asyncio.wait_for(task, 5)
    assert finished == [b"slow"]
    assert await _pending(redis, "r1", "g") == 0


async def test_transient_errors_are_retried_without_spending_deliveries(
        redis: aioredis.Redis) -> None:
    """A handler failing with a connection error is retried in place; nothing is dead-lettered."""
    await _add(redis, "r1", b"a")
    calls: list[int] = []

    async def handle(batch: Sequence[Entry]) -> None:
        calls.append(batch[0].deliveries)
        if len(calls) < 4:
            raise ConnectionRefusedError("database restarting")

    runner = Runner(redis, handle, _options(max_deliveries=1))
    task = asyncio.create_task(runner.run())
    await _until(lambda: len(calls) >= 4)
    runner.stop()
    await task
    assert calls == [1, 1, 1, 1]
    assert await redis.xlen(keys.DEAD_LETTER) == 0
    assert await _pending(redis, "r1", "g") == 0


async def test_metrics_endpoint_serves_counters_and_lag(redis: aioredis.Redis) -> None:
    """GET /metrics answers Prometheus text with the entry counters and the group's lag."""
    await _add(redis, "r1", b"a", b"b")

    async def handle(batch: Sequence[Entry]) -> None:
        return None

    metrics = Metrics()
    server = MetricsServer(metrics, port=0)
    await server.start()
    runner = Runner(redis, handle, _options("c1"), metrics)
    await runner.discover()
    assert metrics.get("worker_lag", group="g", restaurant="r1") == 2
    task = asyncio.create_task(runner.run())
    await _until(lambda: metrics.get("worker_entries_total", group="g", outcome="acked") >= 2)
    runner.stop()
    await task
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    body = (await reader.read()).decode()
    writer.close()
    await server.close()
    assert body.startswith("HTTP/1.1 200")
    assert 'worker_entries_total{group="g",outcome="acked"} 2' in body
    assert "# TYPE worker_lag gauge" in body


async def test_a_runner_survives_redis_losing_its_streams_and_groups(
        redis: aioredis.Redis) -> None:
    """After FLUSHALL (Redis lost its data) the runner finds the restaurant again once it is
    back in k:restaurants, recreates its group and goes on."""
    await _add(redis, "r1", b"before")
    seen: list[bytes] = []

    async def handle(batch: Sequence[Entry]) -> None:
        seen.extend(e.raw for e in batch)

    runner = Runner(redis, handle, _options())
    task = asyncio.create_task(runner.run())
    await _until(lambda: len(seen) >= 1)
    await redis.flushall()
    await asyncio.sleep(0.3)  # reads and lag checks on the vanished stream meanwhile
    await _add(redis, "r1", b"after")
    await _until(lambda: len(seen) >= 2)
    runner.stop()
    await task
    assert seen == [b"before", b"after"]


async def test_entries_arriving_while_the_runner_lingers_come_in_one_batch(
        redis: aioredis.Redis) -> None:
    """After a read that was not a full batch the runner waits linger_ms: entries added one
    by one meanwhile are handed over together, in order, with one read instead of one each."""
    await _add(redis, "r1", b"first")
    batches: list[list[bytes]] = []

    async def handle(batch: Sequence[Entry]) -> None:
        batches.append([e.raw for e in batch])

    options = RunnerOptions("g", "c1", block_ms=50, discover_every_s=60, linger_ms=400)
    runner = Runner(redis, handle, options)
    task = asyncio.create_task(runner.run())
    await _until(lambda: len(batches) >= 1)
    for payload in (b"a", b"b", b"c"):  # well within the linger
        await _add(redis, "r1", payload)
        await asyncio.sleep(0.02)
    await _until(lambda: sum(len(b) for b in batches) >= 4)
    runner.stop()
    await task
    assert batches == [[b"first"], [b"a", b"b", b"c"]]


async def _xautoclaims(redis: aioredis.Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_xautoclaim", {}).get("calls", 0))


async def test_idle_streams_cost_no_reclaim_trip_and_a_dead_consumers_entry_is_still_taken(
        redis: aioredis.Redis) -> None:
    """A stream whose group had nothing pending at the last lag reading is not asked for
    stuck entries until that reading is older than the visibility timeout; an entry a
    consumer took and died with is still taken over once it has waited that long."""
    rids = [f"idle{n}" for n in range(20)]
    for rid in rids:
        await _add(redis, rid, b"x")
    seen: list[Entry] = []

    async def handle(batch: Sequence[Entry]) -> None:
        seen.extend(batch)

    options = RunnerOptions("g", "c1", block_ms=50, discover_every_s=0.05,
                            reclaim_every_s=0.05, visibility_ms=1_500)
    runner = Runner(redis, handle, options)
    task = asyncio.create_task(runner.run())
    try:
        await _until(lambda: len(seen) >= len(rids))
        before = await _xautoclaims(redis)
        await asyncio.sleep(0.5)  # about ten reclaim rounds
        assert await _xautoclaims(redis) == before
        async with redis.pipeline(transaction=True) as pipe:  # taken before c1 can read it
            pipe.xadd(keys.log("idle0"), {keys.STREAM_FIELD: b"taken by a consumer that died"})
            pipe.xreadgroup("g", "dead-one", {keys.log("idle0"): ">"}, count=1)
            added, _ = await pipe.execute()
        entry_id = added.decode()
        await _until(lambda: any(e.id == entry_id for e in seen))
        assert [e.deliveries for e in seen if e.id == entry_id] == [2]
    finally:
        runner.stop()
        await task
