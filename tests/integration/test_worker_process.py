"""`python -m workers`: every role in one process, metrics, Redis restarts, clean shutdown."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from kitchen import keys
from kitchen.embedded import EmbeddedRedis
from kitchen.store import Store
from tests.integration.test_worker_kit import (
    ROOT,
    R,
    start_service,
    start_worker,
    stop_worker,
    until,
    worker_env,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = 1_700_000_000_000


async def _metrics_port(log: Path) -> int:
    found: list[int] = []

    def seen() -> bool:
        match = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics",
                          log.read_text() if log.exists() else "")
        if match:
            found.append(int(match[1]))
        return bool(match)

    await until(seen, what="the metrics endpoint")
    return found[0]


async def _get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    body = (await reader.read()).decode()
    writer.close()
    return body


async def _orders(pool: asyncpg.Pool[Any]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM orders"))


async def test_all_roles_run_in_one_process_serve_metrics_and_stop_cleanly(
        redis: aioredis.Redis, pool: asyncpg.Pool[Any], database_url: str, redis_url: str,
        tmp_path: Path) -> None:
    """With no role named, persist, stats, printer, overdue and dayclose all run; /metrics shows the
    groups' counters and lag; SIGTERM drains and exits with status 0."""
    svc = await start_service(redis, T0, pool=pool)
    await svc.open("A1", 2)
    await svc.order("A1", [("d18", 1)])
    log = tmp_path / "workers.log"
    proc = start_worker(worker_env(database_url, redis_url, WORKER_CONSUMER="all"), log=log)
    try:
        port = await _metrics_port(log)
        await until(lambda: _orders(pool), what="the order persisted")
        await until(lambda: pool.fetchval("SELECT count(*) FROM stats_hourly"), what="stats")
        body = await _get(port, "/metrics")
        health = await _get(port, "/healthz")
    finally:
        stop_worker(proc)
    assert proc.returncode == 0
    assert health.startswith("HTTP/1.1 200")
    for group in ("persist", "stats", "printer"):
        assert f'worker_entries_total{{group="{group}",outcome="acked"}}' in body
        assert f'worker_lag{{group="{group}",restaurant="{R}"}}' in body
    text = log.read_text()
    assert "running persist, stats, printer, overdue, dayclose" in text
    assert "worker all stopped" in text


async def test_persist_goes_on_after_redis_is_killed_and_restarted(
        durable_redis_server: EmbeddedRedis, pool: asyncpg.Pool[Any], database_url: str,
        tmp_path: Path) -> None:
    """A Redis (AOF) SIGKILLed and restarted under a running worker: the worker reconnects and
    every order, before and after, reaches PostgreSQL once."""
    redis = aioredis.Redis.from_url(durable_redis_server.url)
    try:
        svc = await start_service(redis, T0)
        await svc.open("A1", 2)
        first = [await svc.order("A1", [("d18", 1)]) for _ in range(5)]
        env = worker_env(database_url, durable_redis_server.url, WORKER_CONSUMER="r1")
        proc = start_worker(env, "persist", log=tmp_path / "persist.log")
        try:
            await until(lambda: _at_least(pool, 5), what="the first orders")
            durable_redis_server.process.kill()
            await asyncio.to_thread(durable_redis_server.process.wait)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(durable_redis_server.restart)
            await redis.aclose()  # the script's own client: a new one on the restarted server
            redis = aioredis.Redis.from_url(durable_redis_server.url)
            svc.store = Store(redis)
            later = [await svc.order("A1", [("d20", 1)]) for _ in range(5)]
            await until(lambda: _at_least(pool, 10), limit_s=20, what="the later orders")
        finally:
            stop_worker(proc)
        assert proc.returncode == 0
        ids = sorted(r["id"] for r in await pool.fetch("SELECT id FROM orders"))
        assert ids == sorted(first + later)
        assert "redis unavailable" in (tmp_path / "persist.log").read_text()
    finally:
        await redis.aclose()


async def _at_least(pool: asyncpg.Pool[Any], n: int) -> bool:
    return await _orders(pool) >= n


async def test_a_bad_command_line_is_refused_with_a_clear_message(
        database_url: str, redis_url: str) -> None:
    """An unknown role, a missing database URL or a malformed setting ends with status 2 and
    says what is wrong."""
    env = worker_env(database_url, redis_url)
    bad_role = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "cook"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60)
    assert bad_role.returncode == 2
    assert "unknown role 'cook'" in bad_role.stderr
    no_db = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    missing = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "persist"], cwd=ROOT, env=no_db,
        capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert "DATABASE_URL" in missing.stderr
    malformed = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "persist"], cwd=ROOT,
        env={**env, "WORKER_BATCH": "lots"}, capture_output=True, text=True, timeout=60)
    assert malformed.returncode == 2
    assert "WORKER_BATCH must be a number" in malformed.stderr


async def test_the_reprint_command_asks_the_printer_workers(
        redis: aioredis.Redis, database_url: str, redis_url: str) -> None:
    """`python -m workers reprint R ORDER STATION` appends the request the printer reads."""
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "reprint", R, "o7", "wok"], cwd=ROOT,
        env=worker_env(database_url, redis_url), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [(_, fields)] = await redis.xrange(keys.reprint(R))
    assert (fields[b"order_id"], fields[b"station_id"], fields[b"by"]) == (b"o7", b"wok", b"cli")
