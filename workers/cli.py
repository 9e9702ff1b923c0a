"""Command line of the workers.

    python -m workers                          every role in one process
    python -m workers persist [stats ...]      only the roles named
    python -m workers rebuild RESTAURANT       rebuild a restaurant's live state in Redis
    python -m workers reprint RESTAURANT ORDER [STATION]
                                               print a ticket again (all stations by default)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from kitchen import runtime
from kitchen.errors import ConfigError, KitchenError
from kitchen.settings import Settings
from workers.app import ROLES, serve
from workers.config import WorkerConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers",
        description="Consumer-group workers: " + ", ".join(ROLES) + " (all by default); "
        "or a one-off command: rebuild RESTAURANT | reprint RESTAURANT ORDER [STATION] | "
        "close-day [RESTAURANT ...]",
    )
    parser.add_argument("args", nargs="*", metavar="ROLE|COMMAND")
    return parser


async def _rebuild(settings: Settings, config: WorkerConfig, restaurant_id: str) -> None:
    from workers import rebuild
    from workers.app import connect

    redis, pool = await connect(settings)
    try:
        summary = await rebuild.rebuild(pool, redis, restaurant_id, tz=config.tz,
                                        close_at=config.day_close_at)
    finally:
        await pool.close()
        await redis.aclose()
    print(summary.describe())


async def _close_day(settings: Settings, config: WorkerConfig, restaurants: Sequence[str]
                     ) -> int:
    from kitchen.store import Store
    from workers import dayclose
    from workers.app import connect

    redis, pool = await connect(settings)
    try:
        closed, failed = await dayclose.close_all(Store(redis), config.tz,
                                                  only=restaurants or None)
    finally:
        await pool.close()
        await redis.aclose()
    for c in closed:
        print(c.describe())
    for rid, why in failed.items():
        print(f"could not close the day of {rid}: {why}", file=sys.stderr)
    return 1 if failed else 0


async def _reprint(settings: Settings, args: Sequence[str]) -> None:
    from workers import printer
    from workers.app import connect

    redis, pool = await connect(settings)
    try:
        await printer.request_reprint(redis, args[0], args[1], args[2] if len(args) > 2 else "")
    finally:
        await pool.close()
        await redis.aclose()
    print(f"reprint of order {args[1]} requested")


def _run(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv).args
    env = dict(os.environ)
    settings = Settings.from_env(env)
    if args and args[0] == "rebuild":
        if len(args) != 2:
            raise ConfigError("usage: python -m workers rebuild RESTAURANT")
        asyncio.run(_rebuild(settings, WorkerConfig.from_env(env), args[1]))
        return 0
    if args and args[0] == "reprint":
        if len(args) not in (3, 4):
            raise ConfigError("usage: python -m workers reprint RESTAURANT ORDER [STATION]")
        asyncio.run(_reprint(settings, args[1:]))
        return 0
    if args and args[0] == "close-day":
        return asyncio.run(_close_day(settings, WorkerConfig.from_env(env), args[1:]))
    unknown = [a for a in args if a not in ROLES]
    if unknown:
        raise ConfigError(f"unknown role {unknown[0]!r}; roles: {', '.join(ROLES)}")
    names = tuple(dict.fromkeys(args)) or ROLES
    runtime.tune_gc()
    runtime.run(serve(settings, WorkerConfig.from_env(env), names))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return _run(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KitchenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
