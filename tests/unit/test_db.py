"""Migration files and named queries are found and parsed without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitchen.db import Queries, load_migrations


def test_migrations_are_sorted_by_version(tmp_path: Path) -> None:
    """Files load in version order, whatever order the folder lists them."""
    (tmp_path / "010_later.sql").write_text("SELECT 2;")
    (tmp_path / "002_first.sql").write_text("SELECT 1;")
    assert [m.label for m in load_migrations(tmp_path)] == ["002_first", "010_later"]


def test_the_shipped_migrations_start_with_the_schema() -> None:
    """The project's own migrations load, the first one being the schema."""
    assert load_migrations()[0].label == "001_schema"


@pytest.mark.parametrize("name", ["1_short.sql", "001-dash.sql", "001_Upper.sql"])
def test_a_badly_named_migration_is_refused(tmp_path: Path, name: str) -> None:
    """A file not named NNN_name.sql is an error, not silently skipped."""
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(ValueError, match="NNN_name"):
        load_migrations(tmp_path)


def test_two_migrations_with_one_version_are_refused(tmp_path: Path) -> None:
    """Two files with the same number are an error."""
    (tmp_path / "003_a.sql").write_text("SELECT 1;")
    (tmp_path / "003_b.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="version 3"):
        load_migrations(tmp_path)


def test_queries_are_split_on_name_lines(tmp_path: Path) -> None:
    """Each '-- name:' line starts a query that runs to the next one."""
    (tmp_path / "orders.sql").write_text(
        "-- Orders.\n\n-- name: order_by_id\nSELECT *\nFROM orders\nWHERE id = $1;\n\n"
        "-- name: count_orders\nSELECT count(*) FROM orders;\n"
    )
    queries = Queries.load(tmp_path)
    assert queries["order_by_id"] == "SELECT *\nFROM orders\nWHERE id = $1;"
    assert queries["count_orders"] == "SELECT count(*) FROM orders;"
    assert sorted(queries) == ["count_orders", "order_by_id"]


def test_an_unknown_query_names_itself_and_the_known_ones(tmp_path: Path) -> None:
    """Asking for an unknown query raises KeyError naming it and what exists."""
    (tmp_path / "a.sql").write_text("-- name: known\nSELECT 1;\n")
    with pytest.raises(KeyError, match=r"'nope'.*known"):
        Queries.load(tmp_path)["nope"]


def test_a_query_defined_twice_is_refused(tmp_path: Path) -> None:
    """Two queries with one name, even in two files, are an error."""
    (tmp_path / "a.sql").write_text("-- name: q\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("-- name: q\nSELECT 2;\n")
    with pytest.raises(ValueError, match="twice"):
        Queries.load(tmp_path)


def test_sql_before_the_first_name_is_refused(tmp_path: Path) -> None:
    """SQL that belongs to no named query is an error, not silently dropped."""
    (tmp_path / "a.sql").write_text("SELECT 0;\n-- name: q\nSELECT 1;\n")
    with pytest.raises(ValueError, match="before the first"):
        Queries.load(tmp_path)


def test_the_shipped_queries_load() -> None:
    """The project's own query files parse."""
    Queries.load()
