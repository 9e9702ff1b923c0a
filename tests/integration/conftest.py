"""Integration fixtures: the server fixtures of ``tests/conftest.py`` plus a pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio

from kitchen.db import create_pool


@pytest_asyncio.fixture(loop_scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A pool (jsonb as Python values) on this test's fresh database."""
    db_pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        yield db_pool
    finally:
        await db_pool.close()
