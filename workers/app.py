"""Wiring: the roles of one worker process, their shared clients, metrics and shutdown.

Each role is something with ``run()`` (returns when stopped) and ``stop()`` (drain and return):
a :class:`~workers.runner.Runner` for the stream-reading roles, a periodic loop otherwise.
SIGTERM or SIGINT stops every role; each finishes the batch it holds, then the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import redis.asyncio as aioredis

from kitchen import keys, redisclient
from kitchen.db import Queries, create_pool
from kitchen.errors import ConfigError, KitchenError
from kitchen.news import News
from kitchen.settings import Settings
from workers.config import WorkerConfig
from workers.metrics import Metrics, MetricsServer
from workers.runner import Handler, Runner, RunnerOptions, default_transient

log = logging.getLogger(__name__)

ROLES = ("persist", "stats", "printer", "overdue", "dayclose")


class Role(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


def transient(exc: BaseException) -> bool:
    """Connection trouble with Redis or PostgreSQL, deadlocks, serialization failures.
    (A value PostgreSQL cannot take is the entry's fault: asyncpg raises it as an interface
    error that is also a ValueError.)"""
    if default_transient(exc):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return not isinstance(exc, ValueError)
    return isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.DeadlockDetectedError
                      | asyncpg.SerializationError | asyncpg.TooManyConnectionsError
                      | asyncpg.CannotConnectNowError)


@dataclass
class Context:
    """What every role of a process shares."""

    settings: Settings
    config: WorkerConfig
    redis: aioredis.Redis
    pool: asyncpg.Pool[Any]
    queries: Queries
    metrics: Metrics
    news: News | None = None  # the process's subscription to the commits' hints

    def runner(self, group: str, handler: Handler, start_id: str = "0",
               stream_of: Callable[[str], str] = keys.log) -> Runner:
        c = self.config
        options = RunnerOptions(
            group=group, consumer=c.consumer, batch_size=c.batch_size, block_ms=c.block_ms,
            linger_ms=c.linger_ms,
            visibility_ms=c.visibility_ms, max_deliveries=c.max_deliveries,
            discover_every_s=c.discover_every_s, reclaim_every_s=c.reclaim_every_s,
            start_id=start_id, stream_of=stream_of, sweep_ms=c.sweep_ms,
        )
        return Runner(self.redis, handler, options, self.metrics, transient, self.news)


def build_roles(ctx: Context, names: tuple[str, ...]) -> list[Role]:
    from workers import dayclose, overdue, persist, printer, stats

    builders: dict[str, Callable[[Context], list[Role]]] = {
        "persist": lambda c: [c.runner(persist.GROUP, persist.Persister(c.pool, c.queries).handle)],
        "stats": lambda c: [c.runner(stats.GROUP, stats.StatsRoller(c.pool, c.queries).handle)],
        "printer": printer.roles,
        "overdue": overdue.roles,
        "dayclose": dayclose.roles,
    }
    out: list[Role] = []
    for name in names:
        out += builders[name](ctx)
    return out


async def connect(settings: Settings, name: str = "workers"
                  ) -> tuple[aioredis.Redis, asyncpg.Pool[Any]]:
    """A Redis client (bytes) and a PostgreSQL pool whose sessions are named ``name``."""
    if not settings.redis_url or not settings.database_url:
        raise ConfigError("the workers need REDIS_URL and DATABASE_URL (`make run` starts "
                          "embedded servers and passes them on)")
    redis = redisclient.connect(settings.redis_url, decode_responses=False)
    pool = await create_pool(settings.database_url, min_size=1, max_size=8,
                             server_settings={"application_name": name[:63]})
    return redis, pool


async def serve(settings: Settings, config: WorkerConfig, names: tuple[str, ...]) -> None:
    """Run ``names`` until SIGTERM / SIGINT, then drain and return."""
    redis, pool = await connect(settings, f"workers {config.consumer}")
    metrics = Metrics()
    server = MetricsServer(metrics, config.metrics_host, config.metrics_port)
    assert settings.redis_url is not None
    news = News(settings.redis_url, enabled=config.news)
    ctx = Context(settings, config, redis, pool, Queries.load(), metrics, news)
    roles = build_roles(ctx, names)
    loop = asyncio.get_running_loop()
    stopping = False
    following = asyncio.ensure_future(news.run(lambda: stopping))

    def stop_all() -> None:
        nonlocal stopping
        log.info("stopping: draining the work in progress")
        stopping = True
        for role in roles:
            role.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_all)
    try:
        await server.start()
        log.info("worker %s running %s", config.consumer, ", ".join(names))
        await _gather([r.run() for r in roles], roles)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        await server.close()
        await pool.close()
        await redis.aclose()
    log.info("worker %s stopped", config.consumer)


async def _gather(runs: list[Awaitable[None]], roles: list[Role]) -> None:
    """Run every role; if one crashes, stop the others and re-raise."""
    tasks = [asyncio.ensure_future(r) for r in runs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                for role in roles:
                    role.stop()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise task.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, KitchenError):
                    await task
