"""Migrations apply once, in order, atomically per file, and tolerate concurrent runners."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from kitchen.db import load_migrations, migrate
from kitchen.embedded import EmbeddedPostgres

_numbers = itertools.count(1)


@pytest_asyncio.fixture(loop_scope="session")
async def empty_database_url(postgres_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A database with no migration applied yet."""
    name = f"m{next(_numbers)}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield postgres_server.dsn(name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_migrate_twice_applies_nothing_the_second_time(empty_database_url: str) -> None:
    """The first run applies every migration; the second finds nothing to do."""
    everything = [m.label for m in load_migrations()]
    assert everything[0] == "001_schema"
    assert await migrate(empty_database_url) == everything
    assert await migrate(empty_database_url) == []


async def test_schema_migrations_records_each_file(empty_database_url: str) -> None:
    """Each applied file leaves one row: its version, its name and when it was applied."""
    await migrate(empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch("SELECT version, name, applied_at FROM schema_migrations")
    finally:
        await conn.close()
    expected = [(m.version, m.name) for m in load_migrations()]
    assert sorted((r["version"], r["name"]) for r in rows) == expected
    assert all(r["applied_at"] is not None for r in rows)


async def test_concurrent_migrations_apply_each_file_once(empty_database_url: str) -> None:
    """Four runners at once all succeed and apply each file exactly once between them."""
    results = await asyncio.gather(*(migrate(empty_database_url) for _ in range(4)))
    applied = [label for result in results for label in result]
    assert sorted(applied) == [m.label for m in load_migrations()]


async def test_a_failing_migration_leaves_no_trace(empty_database_url: str, tmp_path: Path) -> None:
    """A file that fails is rolled back whole, not recorded, and releases the lock."""
    (tmp_path / "001_good.sql").write_text("CREATE TABLE good (x int);")
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE half (x int);\nSELECT 1 / 0;")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await migrate(empty_database_url, tmp_path)
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('good') IS NOT NULL")
        assert await conn.fetchval("SELECT to_regclass('half') IS NULL")
        assert await conn.fetchval("SELECT array_agg(version) FROM schema_migrations") == [1]
    finally:
        await conn.close()
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE half (x int);")
    assert await asyncio.wait_for(migrate(empty_database_url, tmp_path), 10) == ["002_bad"]


async def test_each_test_database_is_migrated_and_fresh(database_url: str) -> None:
    """The per-test database comes from the migrated template and holds no rows."""
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(
            load_migrations()
        )
        assert await conn.fetchval("SELECT count(*) FROM restaurants") == 0
        await conn.execute("INSERT INTO restaurants (id) VALUES ('r1')")
    finally:
        await conn.close()
