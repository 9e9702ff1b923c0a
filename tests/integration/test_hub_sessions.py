"""A table's new guests are let in even when the hub has not read their seating yet, and the
phones of the guests before are shut out at the event that ended their session."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

import hub.feed
from kitchen import codec, keys
from kitchen.events import Event, TableCleared, TableOpened
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
