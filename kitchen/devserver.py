"""The ``make run`` supervisor: one command brings the whole system up on a laptop.

1. PostgreSQL and Redis: the given ``DATABASE_URL`` / ``REDIS_URL``, or embedded servers kept
   in ``<data_dir>/postgres`` and ``<data_dir>/redis`` (durable: fsync on, AOF always), on
   ports 55432 / 56379 when those are free, else on any free port;
2. migrations, then the demo data (``kitchen.demo.seed``, when that exists);
3. the Procfile processes (``api``, ``hub``, ``worker``) as children, their output prefixed
   with their name; a child that exits is restarted after a backoff of 1 s doubling to 30 s;
4. Ctrl-C or SIGTERM stops the children, then the servers; nothing is left running, and a
   SIGKILL of the supervisor takes every child down with it (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis

from kitchen.db import create_pool, migrate
from kitchen.embedded import ChildServer, EmbeddedPostgres, EmbeddedRedis, die_with_parent
from kitchen.embedded import port_is_free as _port_is_free
from kitchen.errors import ConfigError
from kitchen.settings import Settings

log = logging.getLogger("kitchen.devserver")

# (name shown in logs, module run with ``python -m``), as in the Procfile
PROCESSES = (("api", "api"), ("hub", "hub"), ("worker", "workers"))
POSTGRES_PORT = 55432
REDIS_PORT = 56379
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 30.0  # a child that ran this long starts its backoff afresh
STOP_TIMEOUT_S = 10.0

_output_lock = threading.Lock()


def _forward(name: str, stream: IO[bytes]) -> None:
    prefix = f"{name:>6} | ".encode()
    for line in iter(stream.readline, b""):
        with _output_lock:
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()
    stream.close()


def module_exists(module: str) -> bool:
    """Whether ``python -m module`` would find something to run."""
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Child:
    """One Procfile process, restarted with a bounded backoff when it exits."""

    name: str
    module: str
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def spawn(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=dict(self.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        assert self.process.stdout is not None
        thread = threading.Thread(
            target=_forward, args=(self.name, self.process.stdout), daemon=True
        )
        thread.start()
        self._threads.append(thread)
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("%s started (pid %d): python -m %s", self.name, self.process.pid, self.module)

    def tick(self, now: float) -> None:
        """Notice an exit and schedule a restart; restart when its time has come."""
        if self.process is None:
            return
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.spawn()
            return
        code = self.process.poll()
        if code is None:
            return
        self.failures = 1 if now - self.started_at >= STABLE_AFTER_S else self.failures + 1
        delay = min(BACKOFF_FIRST_S * 2 ** (self.failures - 1), BACKOFF_MAX_S)
        log.warning("%s exited with code %s; restarting in %.0f s", self.name, code, delay)
        self.restart_at = now + delay

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM every child's process group, then SIGKILL what is left after ``timeout``."""
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", child.name, timeout)
            child.signal(signal.SIGKILL)
            child.process.wait()
    for child in children:
        for thread in child._threads:
            thread.join(1.0)


def _port(preferred: int) -> int | None:
    return preferred if _port_is_free(preferred) else None


def _postgres_dir(data_dir: Path) -> Path:
    """``<data_dir>/postgres``, or, when root cannot hand that to the unprivileged user
    PostgreSQL runs as (a project inside a private home folder), a folder in /var/tmp."""
    wanted = data_dir / "postgres"
    if EmbeddedPostgres.can_use(wanted):
        return wanted
    fallback = _postgres_elsewhere(data_dir)
    log.warning("PostgreSQL cannot run as nobody in %s; keeping its data in %s", wanted, fallback)
    fallback.mkdir(mode=0o755, exist_ok=True)
    return fallback


def check_free(settings: Settings) -> None:
    """The API's and the hub's ports are free: else another ``make run`` (or another server)
    holds them, and starting would only print links to it."""
    for name, host, port in (("API_PORT", settings.api_host, settings.api_port),
                             ("HUB_PORT", settings.hub_host, settings.hub_port)):
        if port and not _port_is_free(port, host):
            raise ConfigError(f"{name} {port} on {host} is in use: is another `make run` "
                              f"still up? Stop it, or set {name} to a free port")


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold ``<data_dir>/.lock`` for this run: a second run on the same data would start a
    second Redis on the same append-only file. Raises ConfigError when it is held."""
    data_dir.mkdir(parents=True, exist_ok=True)
    held = open(data_dir / ".lock", "a")  # held open for the run, closed at its end
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        held.close()
        raise ConfigError(f"{data_dir} is in use by another `make run`: stop that one first, "
                          "or give this one KITCHEN_DATA_DIR of its own") from exc
    return held


def _postgres_elsewhere(data_dir: Path) -> Path:
    digest = hashlib.sha256(str((data_dir / "postgres").resolve()).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"kitchen-postgres-{digest}"


def clean_data(data_dir: Path) -> list[Path]:
    """Delete what ``make run`` keeps (``<data_dir>``, and PostgreSQL's folder in /var/tmp
    when it could not live inside it), unless a run is using it; the folders deleted."""
    held = lock_data_dir(data_dir)
    try:
        gone = [d for d in (data_dir, _postgres_elsewhere(data_dir)) if d.exists()]
        for folder in gone:
            shutil.rmtree(folder)
        return gone
    finally:
        held.close()


def _redacted(url: str | None) -> str:
    """A URL without its password, to print."""
    parts = urlsplit(url or "")
    if not parts.password:
        return url or ""
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def _start_servers(settings: Settings, servers: list[ChildServer]) -> Settings:
    """Start an embedded server for each URL that is not given; return completed settings."""
    if settings.database_url is None:
        pg = EmbeddedPostgres(_postgres_dir(settings.data_dir), port=_port(POSTGRES_PORT))
        servers.append(pg)
        await pg.astart()
        log.info("PostgreSQL %s, data in %s", pg.url, pg.data_dir)
        settings = replace(settings, database_url=pg.url)
    if settings.redis_url is None:
        rd = EmbeddedRedis(settings.data_dir / "redis", port=_port(REDIS_PORT))
        servers.append(rd)
        await rd.astart()
        log.info("Redis %s, AOF in %s", rd.url, rd.data_dir)
        settings = replace(settings, redis_url=rd.url)
    return settings


async def seed_demo(settings: Settings) -> dict[str, Any] | None:
    """Run ``kitchen.demo.seed(pool, redis, settings)`` if it exists; return what it returned."""
    try:
        demo = importlib.import_module("kitchen.demo")
    except ModuleNotFoundError as exc:
        if exc.name != "kitchen.demo":
            log.exception("kitchen.demo cannot be imported; no demo data")
        return None
    except ImportError:
        log.exception("kitchen.demo cannot be imported; no demo data")
        return None
    seed = getattr(demo, "seed", None)
    if seed is None:
        log.warning("kitchen.demo has no seed(); no demo data")
        return None
    assert settings.database_url is not None and settings.redis_url is not None
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=False)
    try:
        result = await seed(pool, client, settings)
    except Exception:
        log.exception("demo seed failed; running without demo data")
        return None
    finally:
        await client.aclose()
        await pool.close()
    return dict(result) if isinstance(result, Mapping) else None


def _banner(settings: Settings, demo: Mapping[str, Any] | None) -> str:
    lines = [
        "",
        "Kitchen hub is running (Ctrl-C stops everything)",
        f"  API        {settings.public_api_url}",
        f"  hub        {settings.public_hub_url}",
        f"  PostgreSQL {_redacted(settings.database_url)}",
        f"  Redis      {_redacted(settings.redis_url)}",
    ]
    if demo:
        lines.append("Demo:")
        lines += _describe(demo, "  ")
    return "\n".join([*lines, ""])


def _describe(value: Mapping[str, Any], indent: str) -> list[str]:
    lines = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            lines.append(f"{indent}{key}:")
            lines += _describe(item, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {item}")
    return lines


def child_env(env: Mapping[str, str], settings: Settings) -> dict[str, str]:
    assert settings.database_url is not None and settings.redis_url is not None
    return {
        **env,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PYTHONUNBUFFERED": "1",
    }


async def _supervise(children: list[Child], stop: asyncio.Event,
                     servers: Sequence[ChildServer] = ()) -> int:
    """Restart children that exit; 1 when an embedded PostgreSQL or Redis dies (everything
    is stopped then, with a message: the processes cannot work without it), else 0."""
    while not stop.is_set():
        now = time.monotonic()
        for child in children:
            child.tick(now)
        dead = [server for server in servers if not server.running]
        if dead:
            log.error("%s stopped unexpectedly (its log: %s); stopping everything, its data "
                      "is kept: run again to start afresh",
                      type(dead[0]).__name__, dead[0].log_path)
            return 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)
    return 0


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.info("already stopping")
            return
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


async def run(
    settings: Settings,
    env: Mapping[str, str],
    processes: Sequence[tuple[str, str]] = PROCESSES,
) -> int:
    """Bring everything up, supervise until a stop signal, then take everything down.

    ``processes`` are ``(name, module)`` pairs, each run as ``python -m module``.
    """
    check_free(settings)
    held = lock_data_dir(settings.data_dir)
    stop = asyncio.Event()
    _install_signal_handlers(stop)
    servers: list[ChildServer] = []
    children: list[Child] = []
    try:
        settings = await _start_servers(settings, servers)
        assert settings.database_url is not None
        applied = await migrate(settings.database_url)
        log.info("migrations applied: %s", ", ".join(applied) or "none (up to date)")
        demo = await seed_demo(settings)
        environment = child_env(env, settings)
        for name, module in processes:
            if module_exists(module):
                children.append(Child(name, module, environment))
            else:
                log.warning("%s skipped: no module %s.__main__ yet", name, module)
        for child in children:
            child.spawn()
        print(_banner(settings, demo), flush=True)
        return await _supervise(children, stop, servers)
    finally:
        await asyncio.to_thread(stop_children, children)
        for server in reversed(servers):
            await server.astop()
        held.close()
        log.info("stopped")
