"""A real ``python -m api`` process on its own database and Redis, for tests that talk to it over
HTTP from synchronous code (schemathesis, the browser)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from kitchen import demo, tokens
from kitchen.db import create_pool
from kitchen.embedded import EmbeddedPostgres, EmbeddedRedis
from kitchen.settings import Settings
from tests.e2e.stack import fresh_database, run_async
from tests.faults.system import SECRET, Proc, System


async def seed(system: System) -> None:
    redis = aioredis.Redis.from_url(system.redis.url, decode_responses=False)
    pool = await create_pool(system.database_url, min_size=1, max_size=2)
    try:
        await demo.seed(pool, redis, Settings.from_env(system.env()))
    finally:
        await pool.close()
        await redis.aclose()


@dataclass
class Api:
    url: str
    hub_url: str
    system: System

    def token(self, role: str, restaurant: str = demo.RESTAURANT, **scope: Any) -> str:
        return tokens.issue([SECRET], role, [restaurant], ttl=3600, **scope)[0]


@contextmanager
def api_process(postgres: EmbeddedPostgres, template: str, log_dir: Path,
                with_hub: bool = False) -> Iterator[Api]:
    """The demo restaurant served by a real api (and hub) process."""
    redis = EmbeddedRedis(durable=False).start()
    try:
        database_url = run_async(fresh_database(postgres, template, "sec"))
        system = System(database_url, redis, log_dir).build()
        run_async(seed(system))
        names = ["api", "hub"] if with_hub else ["api"]
        procs: list[Proc] = [system.procs[n] for n in names]
        try:
            for proc in procs:  # spawned from this thread: they die with it (PDEATHSIG)
                proc.spawn()
                run_async(proc.wait_healthy(30))
            yield Api(system.api_url, system.hub_url, system)
        finally:
            for proc in procs:
                proc.stop()
    finally:
        redis.stop()
