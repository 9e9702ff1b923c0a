"""Fixtures for every test layer: real PostgreSQL and Redis servers started by the session.

Session fixtures start only when a test asks for them, so ``tests/unit`` never starts a server
(and may not ask for one: collection fails if it does). Each test gets a fresh database made
from a migrated template, and an empty Redis.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from kitchen.db import migrate
from kitchen.embedded import EmbeddedPostgres, EmbeddedRedis
from kitchen.settings import Settings

TEST_SECRET = "test-secret-key-for-signing-0123456789ab"
TEMPLATE_DB = "kitchen_template"

SERVER_FIXTURES = frozenset(
    {
        "postgres_server",
        "redis_server",
        "durable_redis_server",
        "pg_template",
        "database_url",
        "redis_url",
        "redis",
        "settings",
        "pool",
    }
)

_database_numbers = itertools.count(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unit = Path(__file__).parent / "unit"
    for item in items:
        wanted = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if wanted and item.path.is_relative_to(unit):
            raise pytest.UsageError(
                f"{item.nodeid}: unit tests start no servers, but it asks for {sorted(wanted)}; "
                "move it to tests/integration"
            )


# -- servers (one of each per session) ----------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    """A throwaway PostgreSQL (fsync off) in a temporary folder, on a free port."""
    server = EmbeddedPostgres(durable=False).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    """A throwaway Redis (no persistence) in a temporary folder, on a free port."""
    server = EmbeddedRedis(durable=False).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def durable_redis_server() -> Iterator[EmbeddedRedis]:
    """A Redis of this test only, with AOF ``appendfsync always``: for kill-and-restart tests
    (``server.process.kill()``, then ``server.restart()`` on the same port and AOF)."""
    server = EmbeddedRedis(durable=True).start()
    try:
        yield server
    finally:
        server.stop()


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_template(postgres_server: EmbeddedPostgres) -> str:
    """Name of a database with every migration applied, copied for each test."""
    conn = await asyncpg.connect(postgres_server.url)
    try:
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    await migrate(postgres_server.dsn(TEMPLATE_DB))
    return TEMPLATE_DB


@pytest_asyncio.fixture(loop_scope="session")
async def database_url(postgres_server: EmbeddedPostgres, pg_template: str) -> AsyncIterator[str]:
    """URL of a fresh, migrated database of this test only; dropped afterwards."""
    name = f"t{next(_database_numbers)}"
    conn = await asyncpg.connect(postgres_server.url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    finally:
        await conn.close()
    yield postgres_server.dsn(name)
    conn = await asyncpg.connect(postgres_server.url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# -- Redis --------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def redis_url(redis_server: EmbeddedRedis) -> str:
    """URL of the session's Redis, emptied (FLUSHALL) before this test."""
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        await client.flushall()
    finally:
        await client.aclose()
    return redis_server.url


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client (bytes in, bytes out) of the emptied Redis."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=False)
    try:
        yield client
    finally:
        await client.aclose()


# -- settings -----------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Settings for this test's database and Redis, with a fixed test signing key."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_keys=(TEST_SECRET,),
        data_dir=tmp_path,
        dev=False,
    )
