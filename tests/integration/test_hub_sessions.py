"""A table's new guests are let in even when the hub has not read their seating yet, and the
phones of the guests before are shut out at the event that ended their session."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

import hub.feed
from kitchen import codec, keys
from kitchen.events import (
    DishStatusChanged,
    Event,
    OrderPlaced,
    StatusChange,
    TableCleared,
    TableOpened,
    TableTransferred,
)
from kitchen.model import TableState, TableStatus
from tests.integration import hub_support as hs
from tests.integration.test_worker_kit import until

pytestmark = pytest.mark.asyncio(loop_scope="session")
CHANNEL = f"table:{hs.R}:T1"


def seated(session: str) -> TableState:
    return TableState("T1", TableStatus.OPEN, session, opened_at=1, guests=2)


async def commit(redis: aioredis.Redis, table: TableState, *events: Event,
                 hint: bool) -> list[str]:
    """What a commit does: the table's live state and its events, in one step."""
    await redis.hset(keys.tables(hs.R), "T1", codec.pack(table.to_dict()))
    return await hs.publish(redis, *events, hint=hint)


async def test_new_guests_are_let_in_before_the_hub_reads_their_seating(
        redis: aioredis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """清台 and a new seating are committed while the hub hears no news of them (it would
    read them only at its next sweep). The new guests' phone is acknowledged at once and
    gets nothing of the guests before; the old phone gets the event that cleared its table,
    is closed 4001, and never sees the new seating."""
    monkeypatch.setattr(hub.feed, "SWEEP_S", 60.0)
    await hs.open_restaurant(redis)
    await commit(redis, seated("s1"), TableOpened(hs.R, seated("s1")), hint=True)
    async with hs.running_hub(hs.hub_settings(redis_url)) as (running, url):
        async with hs.client(url, hs.token("diner", table="T1", session="s1")) as old:
            assert (await old.subscribe([CHANNEL]))["op"] == "ack"
            hints = running.feed.hints
            await until(lambda: hints.live and hints.next_sweep > time.monotonic(), 5,
                        "the hub reads on news, and has swept once")
            cleared = await commit(
                redis, seated("s2"),
                TableCleared(hs.R, TableState("T1"), session_id="s1"),
                TableOpened(hs.R, seated("s2")), hint=False)
            assert await old.quiet(0.3) == []  # the hub has not read them

            async with hs.client(url, hs.token("diner", table="T1", session="s2")) as new:
                ack = await new.subscribe([CHANNEL])
                assert ack["op"] == "ack", ack
                assert await new.quiet(0.3) == []

            got = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    got.append(await old.recv(2.0))
            assert [f["pos"] for f in got if f["op"] == "event"] == [cleared[0]]
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


def order_at_t1(no: int, session: str) -> Event:
    return OrderPlaced(hs.R, replace(hs.order(no=no), session_id=session))


@contextlib.asynccontextmanager
async def hub_and(redis_url: str, history: Callable[[], Awaitable[list[list[str]]]],
                  hub_saw_it: bool) -> AsyncIterator[tuple[str, list[list[str]]]]:
    """A hub, and ``history`` committed either while it runs (it reads each event as it
    comes) or before it starts (it learns the tables from its log only)."""
    if not hub_saw_it:
        done = await history()
    async with hs.running_hub(hs.hub_settings(redis_url)) as (_, url):
        if hub_saw_it:
            async with hs.client(url, hs.token("merchant")) as watcher:
                await watcher.subscribe([CHANNEL])
                done = await history()
                await watcher.events(sum(len(p) for p in done))
        yield url, done


@pytest.mark.parametrize("hub_saw_it", [True, False], ids=["live", "after-restart"])
async def test_a_phone_replays_only_its_own_session(
        redis: aioredis.Redis, redis_url: str, hub_saw_it: bool) -> None:
    """The guests before ordered and left; new guests sit down. A phone of the new guests
    that resumes from a position of the guests before (one it could never have had) is told
    to reload, never replayed the guests before; from its snapshot's position it gets its own
    session's events. This holds whether the hub read those events as they came or started
    after them (and learns the table only from its log)."""
    await hs.open_restaurant(redis)

    async def history() -> list[list[str]]:
        before = await commit(redis, seated("s1"), TableOpened(hs.R, seated("s1")),
                              order_at_t1(1, "s1"),
                              TableCleared(hs.R, TableState("T1"), session_id="s1"), hint=True)
        after = await commit(redis, seated("s2"), TableOpened(hs.R, seated("s2")),
                             order_at_t1(2, "s2"), hint=True)
        return [before, after]

    async with hub_and(redis_url, history, hub_saw_it) as (url, (before, after)):
        new_guest = hs.token("diner", table="T1", session="s2")
        for old_pos in ("0-0", before[0], before[1]):
            async with hs.client(url, new_guest) as phone:
                answer = await phone.subscribe([CHANNEL], {hs.R: {"pos": old_pos,
                                                                  "epoch": hs.EPOCH}})
                assert answer["op"] == "reload" and answer["reason"] == "session", answer
                ack = await phone.recv()
                assert ack["op"] == "ack" and ack["channels"] == [], ack
                assert await phone.quiet(0.2) == []
        async with hs.client(url, new_guest) as phone:  # from the snapshot's position
            answer = await phone.subscribe([CHANNEL], {hs.R: {"pos": after[0],
                                                              "epoch": hs.EPOCH}})
            assert answer["op"] == "ack", answer
            got = await phone.events(1)
            assert [f["pos"] for f in got] == [after[1]]
            assert got[0]["data"]["order"]["session_id"] == "s2"
            assert await phone.quiet(0.2) == []


@pytest.mark.parametrize("hub_saw_it", [True, False], ids=["live", "after-restart"])
async def test_a_phone_resumes_within_its_session_without_a_reload(
        redis: aioredis.Redis, redis_url: str, hub_saw_it: bool) -> None:
    """A phone away for a moment (or across a restart of the hub) gets what it missed of its
    own session replayed, as every screen does: no reload."""
    await hs.open_restaurant(redis)

    async def history() -> list[list[str]]:
        return [await commit(redis, seated("s1"), TableOpened(hs.R, seated("s1")),
                             order_at_t1(1, "s1"), order_at_t1(2, "s1"), hint=True)]

    async with hub_and(redis_url, history, hub_saw_it) as (url, (positions,)):
        async with hs.client(url, hs.token("diner", table="T1", session="s1")) as phone:
            answer = await phone.subscribe([CHANNEL], {hs.R: {"pos": positions[0],
                                                              "epoch": hs.EPOCH}})
            assert answer["op"] == "ack", answer
            got = await phone.events(2)
            assert [f["pos"] for f in got] == positions[1:]


def cooked(no: int, session: str, table: str = "T1") -> Event:
    """The kitchen starts the dish of order ``no``."""
    order = replace(hs.order(no=no, table=table), session_id=session)
    return DishStatusChanged(hs.R, order, "start",
                             (StatusChange(f"l{no}", "wok", "queued", "cooking"),))


async def test_the_dishes_of_guests_who_left_do_not_reach_the_next_guests(
        redis: aioredis.Redis, redis_url: str) -> None:
    """The guests before asked for the bill and were cleared while their dish still cooked.
    The kitchen finishing it reaches the pass and the board, never the next guests' phone,
    which does get its own dishes, and the dishes of guests moved to its table (转台)."""
    await hs.open_restaurant(redis)
    async with hs.running_hub(hs.hub_settings(redis_url)) as (_, url):
        async with hs.client(url, hs.token("merchant")) as board:
            await board.subscribe([CHANNEL, f"table:{hs.R}:T2"])
            done = await commit(redis, seated("s1"), TableOpened(hs.R, seated("s1")),
                                order_at_t1(1, "s1"),
                                TableCleared(hs.R, TableState("T1"), session_id="s1"),
                                TableOpened(hs.R, seated("s2")), hint=True)
            moved = replace(seated("s3"), no="T2", order_ids=("o3",))
            done += await hs.publish(redis, TableTransferred(
                hs.R, source=replace(seated("s3"), no="T9"), target=moved,
                orders=(replace(hs.order(no=3, table="T2"), session_id="s9"),)))
            await board.events(len(done))
            async with hs.client(url, hs.token("diner", table="T1", session="s2")) as phone, \
                    hs.client(url, hs.token("diner", table="T2", session="s3")) as moved_in:
                assert (await phone.subscribe([CHANNEL]))["op"] == "ack"
                assert (await moved_in.subscribe([f"table:{hs.R}:T2"]))["op"] == "ack"
                left_behind, own, theirs = await hs.publish(
                    redis, cooked(1, "s1"), cooked(2, "s2"), cooked(3, "s9", table="T2"))
                assert [f["pos"] for f in await board.events(3)] == [left_behind, own, theirs]
                assert [f["pos"] for f in await phone.events(1)] == [own]
                assert [f["pos"] for f in await moved_in.events(1)] == [theirs]
                assert await phone.quiet(0.3) == [] and await moved_in.quiet(0.1) == []
            async with hs.client(url, hs.token("diner", table="T1", session="s2")) as phone:
                answer = await phone.subscribe([CHANNEL], {hs.R: {"pos": done[-2],
                                                                  "epoch": hs.EPOCH}})
                assert answer["op"] == "ack", answer
                assert [f["pos"] for f in await phone.events(1)] == [own]  # replayed
                assert await phone.quiet(0.3) == []
