"""PostgreSQL access: numbered migrations, named queries and the connection pool.

Migrations are ``sql/migrations/NNN_name.sql``, applied in order, one transaction per file,
under an advisory lock, and recorded in ``schema_migrations``. Queries are blocks of
``sql/queries/*.sql``, each introduced by a line ``-- name: some_query``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from kitchen import codec

if TYPE_CHECKING:
    from typing import TypeAlias

    from asyncpg.pool import PoolConnectionProxy

    # a plain or a pooled connection (for annotations only: asyncpg is not generic at run time)
    AnyConnection: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]

SQL_DIR = Path(__file__).parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
QUERIES_DIR = SQL_DIR / "queries"

# pg_advisory_lock key held while migrating ("kitchen" in ASCII)
MIGRATION_LOCK = 0x6B69_7463_6865_6E

_MIGRATION_FILE = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
_NAME_LINE = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")

_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """``001_schema``: the file name without ``.sql``."""
        return f"{self.version:03d}_{self.name}"


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file of ``directory``, by version; a malformed name is an error."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if match is None:
            raise ValueError(f"migration file {path.name!r} is not named NNN_name.sql")
        version = int(match[1])
        if version in migrations:
            raise ValueError(f"two migrations have version {version}: {path.name!r}")
        migrations[version] = Migration(version, match[2], path.read_text(encoding="utf-8"))
    return [migrations[v] for v in sorted(migrations)]


async def _migrate(conn: AnyConnection, migrations: list[Migration]) -> list[str]:
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(_SCHEMA_MIGRATIONS)
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        applied: list[str] = []
        for migration in migrations:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied.append(migration.label)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def migrate(
    target: str | AnyConnection | asyncpg.Pool[Any],
    directory: Path = MIGRATIONS_DIR,
) -> list[str]:
    """Apply the migrations not applied yet; return their labels (``["001_schema"]``).

    Safe to call from several processes at once: the advisory lock serialises them and the
    later ones find nothing left to do.
    """
    migrations = load_migrations(directory)
    if isinstance(target, str):
        conn: asyncpg.Connection[Any] = await asyncpg.connect(target)
        try:
            return await _migrate(conn, migrations)
        finally:
            await conn.close()
    if isinstance(target, asyncpg.Pool):
        async with target.acquire() as pooled:
            return await _migrate(pooled, migrations)
    return await _migrate(target, migrations)


class Queries(Mapping[str, str]):
    """Named SQL texts, loaded once: ``queries["orders_by_table"]``."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = dict(texts)

    @classmethod
    def load(cls, directory: Path = QUERIES_DIR) -> Queries:
        texts: dict[str, str] = {}
        for path in sorted(directory.glob("*.sql")):
            for name, sql in _parse_queries(path):
                if name in texts:
                    raise ValueError(f"query {name!r} is defined twice (again in {path.name})")
                texts[name] = sql
        return cls(texts)

    def __getitem__(self, name: str) -> str:
        try:
            return self._texts[name]
        except KeyError:
            raise KeyError(
                f"no query named {name!r} in kitchen/sql/queries/*.sql "
                f"(known: {', '.join(sorted(self._texts)) or 'none'})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def _parse_queries(path: Path) -> Iterator[tuple[str, str]]:
    name: str | None = None
    lines: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _NAME_LINE.match(line.strip())
        if match:
            if name is not None:
                yield name, _body(path, name, lines)
            name, lines = match[1], []
        elif name is not None:
            lines.append(line)
        elif line.strip() and not line.strip().startswith("--"):
            raise ValueError(f"{path.name}:{number}: SQL before the first '-- name:' line")
    if name is not None:
        yield name, _body(path, name, lines)


def _body(path: Path, name: str, lines: list[str]) -> str:
    sql = "\n".join(lines).strip()
    if not sql:
        raise ValueError(f"{path.name}: query {name!r} is empty")
    return sql


def _json_text(value: Any) -> str:
    return codec.dumps(value).decode()


async def _init_connection(conn: AnyConnection) -> None:
    # orjson (kitchen.codec): the persist worker writes a JSON column or two per order
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=_json_text, decoder=codec.loads, schema="pg_catalog"
        )


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool[Any]:
    """A pool whose connections encode and decode ``json``/``jsonb`` as :mod:`kitchen.codec`
    does (orjson)."""
    pool: asyncpg.Pool[Any] = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_inactive_connection_lifetime=300,
        command_timeout=60,
        init=_init_connection,
        **kwargs,
    )
    return pool
