"""The pool speaks jsonb as Python values and the schema enforces its basic rules."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest


async def test_pool_round_trips_jsonb(pool: asyncpg.Pool[Any]) -> None:
    """A dict written to a jsonb column comes back as an equal dict."""
    payload = {"order": {"id": "o1", "lines": [1, 2]}, "名": "宫保鸡丁"}
    await pool.execute(
        "INSERT INTO events (restaurant_id, stream_id, event_id, type, ts, payload)"
        " VALUES ('r1', '1-0', 'e1', 'order.placed', 1, $1)",
        payload,
    )
    assert await pool.fetchval("SELECT payload FROM events WHERE event_id = 'e1'") == payload


async def test_event_ids_are_unique(pool: asyncpg.Pool[Any]) -> None:
    """The same event id cannot be stored twice, so replays are harmless with ON CONFLICT."""
    insert = (
        "INSERT INTO events (restaurant_id, stream_id, event_id, type, ts)"
        " VALUES ('r1', $1, 'e1', 't', 1) ON CONFLICT DO NOTHING"
    )
    await pool.execute(insert, "1-0")
    await pool.execute(insert, "2-0")
    assert await pool.fetchval("SELECT count(*) FROM events") == 1


async def test_negative_prices_are_refused(pool: asyncpg.Pool[Any]) -> None:
    """A dish with a negative price violates a check constraint."""
    await pool.execute("INSERT INTO restaurants (id) VALUES ('r1')")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO dishes (restaurant_id, id, category_id, price_fen, station_id)"
            " VALUES ('r1', 'd1', 'c1', -1, 'wok')"
        )
