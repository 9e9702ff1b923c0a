"""Micro-batching of Redis commands against a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvloop
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeout

from kitchen import codec, demo, keys, tables
from kitchen.batching import Batcher, Wire, trips_client
from kitchen.embedded import EmbeddedRedis
from kitchen.events import TableOpened
from kitchen.model import TableState
from kitchen.store import Reads, State, Store, Tx


class CountingBatcher(Batcher):
    """Counts the pipelines it sends."""

    trips = 0

    async def _send(self, batch):  # type: ignore[no-untyped-def]
        self.trips += 1
        await super()._send(batch)


@pytest.mark.parametrize(("per_trip", "trips"), [(64, 1), (16, 4)])
async def test_concurrent_callers_share_trips_and_get_their_own_replies(
        redis: Redis, per_trip: int, trips: int) -> None:
    """Fifty callers in one turn of the loop: as few pipelines as ``max_per_trip`` allows
    (one, or four of at most sixteen callers), each caller gets exactly its replies."""
    batch = CountingBatcher(redis, max_per_trip=per_trip)

    async def caller(n: int) -> list[object]:
        return await batch.run(lambda p: (p.set(f"k{n}", n), p.incrby(f"k{n}", n)))

    replies = await asyncio.gather(*(caller(n) for n in range(50)))
    assert replies == [[True, 2 * n] for n in range(50)]
    assert batch.trips == trips


async def test_a_failing_command_fails_only_its_caller(redis: Redis) -> None:
    """A command Redis refuses raises in the caller that queued it; the others succeed."""
    batch = Batcher(redis)
    await redis.set("text", "abc")
    good = batch.run(lambda p: p.incr("counter"))
    bad = batch.run(lambda p: p.incr("text"))
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0] == [1]
    assert isinstance(results[1], ResponseError)


async def test_a_builder_that_raises_fails_only_its_caller(redis: Redis) -> None:
    """A builder error leaves no half-queued commands behind for the others."""
    batch = Batcher(redis)

    def broken(pipe: object) -> None:
        pipe.incr("a")  # type: ignore[attr-defined]
        raise ValueError("bad input")

    failed, ok = await asyncio.gather(batch.run(broken), batch.run(lambda p: p.incr("b")),
                                      return_exceptions=True)
    assert isinstance(failed, ValueError)
    assert ok == [1]
    assert await redis.get("a") is None


async def test_a_commit_after_the_scripts_were_flushed_loads_the_script_again(
        redis: Redis) -> None:
    """A Redis restarted from its AOF has no scripts: the batched EVALSHA falls back."""
    store = Store(redis)
    await store.install(demo.menu(), {})
    await redis.script_flush()
    done = await store.run(demo.RESTAURANT, Reads(tables=["A1"]), _open_a1, "key-1")
    assert done.pos and not done.duplicate
    assert TableState.from_dict(codec.unpack(await redis.hget(keys.tables(demo.RESTAURANT),
                                                              "A1"))).session == "s1"


def _open_a1(state: State) -> Tx:
    tx = Tx(state)
    table = tables.open_table(state.table("A1"), 2, "s1", 1)
    tx.put_table(table)
    tx.emit(TableOpened(demo.RESTAURANT, table=table))
    tx.response = {}
    return tx


@pytest.mark.parametrize("wired", [False, True], ids=["redis-py", "wire"])
async def test_a_trip_redis_does_not_answer_fails_within_the_batch_timeout(
        redis: Redis, redis_url: str, wired: bool) -> None:
    """A client without per-reply timeouts is bounded per trip: a paused Redis fails the
    waiting requests after the batch timeout (a wire drops its connection, whose replies
    would be out of step), and the next trip works once Redis answers."""
    quiet = trips_client(redis_url, 2.0)
    wire = Wire.from_url(redis_url, 2.0) if wired else None
    batch = Batcher(quiet, timeout=0.3, wire=wire)
    try:
        assert await batch.run(lambda p: p.incr("paused")) == [1]
        await redis.execute_command("CLIENT", "PAUSE", 1000, "ALL")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RedisTimeout):
            await batch.run(lambda p: p.incr("paused"))
        assert loop.time() - started < 0.9
        await asyncio.sleep(1.0)
        assert await batch.run(lambda p: p.get("paused")) in ([b"1"], [b"2"])
    finally:
        await redis.execute_command("CLIENT", "UNPAUSE")
        if wire is not None:
            await wire.aclose()
        await quiet.aclose()


async def test_the_trips_client_sends_what_redis_py_would(redis: Redis) -> None:
    """Commands packed by hiredis reach Redis intact: text, bytes, numbers, Chinese, a
    two-word command, a Lua script with keys and a binary argument."""
    kw = redis.connection_pool.connection_kwargs
    client = trips_client(f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}", 2.0)
    batch = Batcher(client, timeout=2.0)
    try:
        replies = await batch.run(lambda p: (
            p.set("菜", "醉虾"), p.get("菜"), p.set("n", 7), p.incrbyfloat("n", 1.5),
            p.hset("h", mapping={"a": b"\x00\xff", "b": 2}), p.hmget("h", "a", "b"),
            p.execute_command("CONFIG GET", "maxmemory-policy"),
            p.eval("return {KEYS[1], ARGV[1]}", 1, "k", b"\x01\x02")))
        assert replies[1] == "醉虾".encode() and replies[3] == 8.5
        assert replies[5] == [b"\x00\xff", b"2"]
        assert "maxmemory-policy" in replies[6]
        assert replies[7] == [b"k", b"\x01\x02"]
    finally:
        await client.aclose()


async def test_trips_in_flight_are_capped_and_the_rest_wait_for_the_next(
        redis: Redis) -> None:
    """With every trip busy, callers gather for the next one: never more trips at once than
    the cap (each holds a pooled connection), and everyone still gets exactly their replies."""

    class Tracking(Batcher):
        busy = most = trips = 0

        async def _send(self, batch):  # type: ignore[no-untyped-def]
            self.busy += 1
            self.trips += 1
            self.most = max(self.most, self.busy)
            await asyncio.sleep(0.01)  # a slow Redis
            await super()._send(batch)
            self.busy -= 1

    batch = Tracking(redis, max_trips=2)

    async def caller(n: int) -> list[object]:
        await asyncio.sleep(0.001 * (n % 20))  # arriving over several turns of the loop
        return await batch.run(lambda p: (p.incrby("sum", n), p.incrby(f"c{n}", n + 1)))

    replies = await asyncio.gather(*(caller(n) for n in range(200)))
    assert batch.most == 2 and batch.trips < 40
    assert int(await redis.get("sum")) == sum(range(200))
    assert [r[1] for r in replies] == [n + 1 for n in range(200)]


async def test_work_under_way_goes_before_new_work(redis: Redis) -> None:
    """While every trip is busy, commands queued with ``first`` (a commit after its read, a
    retry) leave in the next trip, ahead of new ones queued earlier."""

    class Slow(Batcher):
        async def _send(self, batch):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.05)  # a busy Redis
            await super()._send(batch)

    batch = Slow(redis, max_trips=1, max_per_trip=2)
    done: list[str] = []

    async def caller(name: str, first: bool = False) -> None:
        await batch.run(lambda p: p.rpush("order", name), first=first)
        done.append(name)

    busy = asyncio.ensure_future(caller("busy"))  # takes the only trip
    await asyncio.sleep(0)
    new = [asyncio.ensure_future(caller(f"new{n}")) for n in range(4)]
    await asyncio.sleep(0)
    commit = asyncio.ensure_future(caller("commit", first=True))
    await asyncio.gather(busy, *new, commit)
    assert [v.decode() for v in await redis.lrange("order", 0, -1)] == [
        "busy", "commit", "new0", "new1", "new2", "new3"]
    assert done.index("commit") < done.index("new1")


def _mixed(pipe: object) -> None:
    """Commands of every reply shape the store and the API use, and a few more."""
    p: Any = pipe
    p.set("菜", "醉虾"), p.get("菜"), p.get("none"), p.set("n", 7), p.incrbyfloat("n", 1.5)
    p.hset("h", mapping={"a": b"\x00\xff", "b": 2}), p.hmget("h", "a", "b", "c")
    p.hget("h", "a"), p.hgetall("h"), p.exists("h"), p.exists("nothing")
    p.sadd("s", "x"), p.sismember("s", "x"), p.sismember("s", "y"), p.smembers("s")
    p.expire("h", 60), p.ttl("h"), p.incr("i"), p.xadd("log", {"e": b"\x01"}, id="5-1")
    p.xrevrange("log", count=1), p.execute_command("CONFIG GET", "maxmemory-policy")
    p.eval("return {KEYS[1], ARGV[1], 3, {'nested'}}", 1, "k", b"\x01\x02")


async def test_the_wire_answers_exactly_what_redis_py_answers(redis_url: str) -> None:
    """The same commands through redis-py's pipeline and through the wire give equal replies
    (types included: booleans, floats, dicts, sets, stream entries)."""
    client = trips_client(redis_url, 2.0)
    wire = Wire.from_url(redis_url, 2.0)
    assert wire is not None
    try:
        first = await Batcher(client, timeout=2.0).run(_mixed)
        await client.flushdb()
        second = await Batcher(client, timeout=2.0, wire=wire).run(_mixed)
        assert second == first
        assert [type(r) for r in second] == [type(r) for r in first]
    finally:
        await wire.aclose()
        await client.aclose()


async def test_on_the_wire_a_failing_command_fails_only_its_caller(redis_url: str) -> None:
    """Errors come back per command: NOSCRIPT as NoScriptError (the store reloads on it),
    a wrong type as ResponseError; the other callers in the trip get their replies."""
    client = trips_client(redis_url, 2.0)
    wire = Wire.from_url(redis_url, 2.0)
    batch = Batcher(client, timeout=2.0, wire=wire)
    try:
        await client.set("text", "abc")
        results = await asyncio.gather(
            batch.run(lambda p: p.incr("counter")), batch.run(lambda p: p.incr("text")),
            batch.run(lambda p: p.evalsha("0" * 40, 0)), batch.run(lambda p: p.get("text")),
            return_exceptions=True)
        assert results[0] == [1] and results[3] == [b"abc"]
        assert isinstance(results[1], ResponseError)
        assert isinstance(results[2], NoScriptError)
    finally:
        await wire.aclose()  # type: ignore[union-attr]
        await client.aclose()


async def test_the_wire_pipelines_many_trips_and_keeps_each_callers_replies(
        redis_url: str) -> None:
    """Hundreds of callers over many turns of the loop, several trips in flight on the one
    connection: every caller gets exactly its own replies, in order."""
    client = trips_client(redis_url, 2.0)
    wire = Wire.from_url(redis_url, 2.0)
    batch = Batcher(client, timeout=2.0, wire=wire, max_trips=4)

    async def caller(n: int) -> list[object]:
        await asyncio.sleep(0.001 * (n % 20))
        return await batch.run(lambda p: (p.incrby("sum", n), p.set(f"v{n}", n), p.get(f"v{n}")))

    try:
        replies = await asyncio.gather(*(caller(n) for n in range(300)))
        assert [r[1:] for r in replies] == [[True, str(n).encode()] for n in range(300)]
        assert int(await client.get("sum")) == sum(range(300))
    finally:
        await wire.aclose()  # type: ignore[union-attr]
        await client.aclose()


async def test_the_wire_reconnects_after_redis_drops_it(redis_url: str) -> None:
    """Redis closing the connection fails nothing that was answered, and the next trip opens
    a new connection (and selects the URL's database again)."""
    db_url = redis_url.rsplit("/", 1)[0] + "/3"
    client = trips_client(db_url, 2.0)
    wire = Wire.from_url(db_url, 2.0, connections=1)
    batch = Batcher(client, timeout=2.0, wire=wire)
    try:
        assert await batch.run(lambda p: (p.set("where", "db3"), p.client_id()))
        (me,) = await batch.run(lambda p: p.client_id())
        await client.execute_command("CLIENT", "KILL", "ID", me)
        await asyncio.sleep(0.05)
        again = await batch.run(lambda p: (p.get("where"), p.client_id()))
        assert again[0] == b"db3" and again[1] != me
    finally:
        await client.flushdb()
        await wire.aclose()  # type: ignore[union-attr]
        await client.aclose()


async def test_the_wire_spreads_trips_over_its_connections(redis_url: str) -> None:
    """Trips take the wire's connections in turn (Redis reads a bounded amount from each
    connection per turn of its loop, so one connection would cap a busy API)."""
    client = trips_client(redis_url, 2.0)
    wire = Wire.from_url(redis_url, 2.0, connections=3)
    batch = Batcher(client, timeout=2.0, wire=wire)
    try:
        ids = [(await batch.run(lambda p: p.client_id()))[0] for _ in range(9)]
        assert len(set(ids)) == 3 and ids[:3] == ids[3:6] == ids[6:]
    finally:
        await wire.aclose()  # type: ignore[union-attr]
        await client.aclose()


def test_the_wire_speaks_only_plain_redis_urls() -> None:
    """TLS and socket URLs keep redis-py's own connections."""
    assert Wire.from_url("rediss://example:6380/0") is None
    assert Wire.from_url("unix:///tmp/redis.sock") is None
    wire = Wire.from_url("redis://u:p%40ss@127.0.0.1:7000/2")
    assert wire is not None
    assert (wire.host, wire.port, wire.db, wire.username, wire.password) == (
        "127.0.0.1", 7000, 2, "u", "p@ss")


def test_the_wire_runs_on_uvloop_as_the_api_does(redis_server: EmbeddedRedis) -> None:
    """The API runs on uvloop, whose transports are its own classes: trips work there too."""
    url = redis_server.url.rsplit("/", 1)[0] + "/4"

    async def trips() -> list[list[object]]:
        client = trips_client(url, 2.0)
        wire = Wire.from_url(url, 2.0)
        batch = Batcher(client, timeout=2.0, wire=wire)
        try:
            return await asyncio.gather(*(batch.run(lambda p, n=n: (p.incrby("u", n),))
                                          for n in range(1, 51)))
        finally:
            await client.flushdb()
            await wire.aclose()  # type: ignore[union-attr]
            await client.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        replies = runner.run(trips())
    assert sorted(r[0] for r in replies)[-1] == sum(range(1, 51))
