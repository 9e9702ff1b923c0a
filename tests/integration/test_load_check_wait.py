"""The load check waits for the persist worker by the accepted orders themselves: a total that
already counts unanswered orders must not end the wait while accepted ones are missing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from loadtests.check import _wait_for_persist

pytestmark = pytest.mark.asyncio(loop_scope="session")

INSERT = ("INSERT INTO orders (restaurant_id, id, table_no, session_id, no, created_at, "
          "total_fen, updated_at) VALUES ('lt1', $1, 'A1', 's', $2, 0, 100, 0)")


async def test_the_wait_lasts_until_every_accepted_order_is_written(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    writer = await asyncpg.connect(database_url)
    try:
        # three orders placed but never seen answered are in already: as many as accepted
        for n in range(3):
            await conn.execute(INSERT, f"unanswered{n}", 100 + n)
        accepted = ["a0", "a1", "a2"]

        async def persist_late() -> None:  # a persist worker behind, catching up
            await asyncio.sleep(2.5)
            for n, oid in enumerate(accepted):
                await writer.execute(INSERT, oid, n + 1)

        late = asyncio.ensure_future(persist_late())
        count, waited = await _wait_for_persist(conn, ["lt1"], accepted, wait_s=30)
        await late
        assert count == 6 and waited >= 2.5

        _, quick = await _wait_for_persist(conn, ["lt1"], accepted, wait_s=30)
        assert quick < 4  # all there: two still polls
        _, given_up = await _wait_for_persist(conn, ["lt1"], ["never"], wait_s=1.5)
        assert 1.5 <= given_up < 5
    finally:
        await conn.execute("DELETE FROM orders WHERE restaurant_id = 'lt1'")
        await conn.close()
        await writer.close()
