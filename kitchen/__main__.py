"""``python -m kitchen run`` (the ``make run`` supervisor) and ``python -m kitchen migrate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from kitchen.db import migrate
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
    return parser


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
    try:
        return _run(env) if args.command == "run" else _migrate(env)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
