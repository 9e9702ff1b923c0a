"""``python -m kitchen run`` (the ``make run`` supervisor, for development), ``python -m
kitchen migrate`` and ``python -m kitchen clean-data`` (``make clean-data``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from kitchen.db import migrate
from kitchen.embedded import EmbeddedServerError
from kitchen.errors import ConfigError
from kitchen.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kitchen")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        help="start everything for development: PostgreSQL and Redis (embedded unless "
        "DATABASE_URL / REDIS_URL are set), migrations, demo data, api, hub and workers",
    )
    commands.add_parser("migrate", help="apply pending migrations to DATABASE_URL")
    commands.add_parser("clean-data", help="delete the data of make run (not while it runs)")
    return parser


def _clean_data(env: dict[str, str]) -> int:
    from kitchen import devserver

    env.setdefault("KITCHEN_DEV", "1")  # only the data folder is needed, not the keys
    for folder in devserver.clean_data(Settings.from_env(env).data_dir):
        print(f"deleted {folder}")
    return 0


def _run(env: dict[str, str]) -> int:
    from kitchen import devserver

    if not env.get("KITCHEN_SECRET_KEYS"):
        env.setdefault("KITCHEN_DEV", "1")
    settings = Settings.from_env(env)
    return asyncio.run(devserver.run(settings, env))


def _migrate(env: dict[str, str]) -> int:
    settings = Settings.from_env(env)
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set: migrate needs the database to migrate")
    applied = asyncio.run(migrate(settings.database_url))
    print("applied: " + ", ".join(applied) if applied else "up to date")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    env = dict(os.environ)
    command = {"run": _run, "migrate": _migrate, "clean-data": _clean_data}[args.command]
    try:
        return command(env)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except EmbeddedServerError as exc:  # the server's own words are in its log
        print(f"could not start an embedded server: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
