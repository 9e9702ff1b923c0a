"""The whole system as real processes, for end-to-end tests: ``python -m api``, ``python -m hub``
and ``python -m workers`` on free ports, against a given PostgreSQL database and Redis, with
the demo restaurant seeded.

Run by hand (``python -m tests.e2e.stack``) it starts throwaway embedded servers too and prints
the page URLs, which is handy for looking at the screens in a browser.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import asyncpg
import redis.asyncio as aioredis

from kitchen import demo
from kitchen.db import create_pool
from kitchen.settings import Settings

if TYPE_CHECKING:
    from kitchen.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-secret-key-for-signing-tokens-0123456789"
PROCESSES = (("api", "api"), ("hub", "hub"), ("workers", "workers"))

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on a loop of its own, in a thread: no event loop is shared
    with pytest-asyncio or with Playwright's synchronous API."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def fresh_database(server: EmbeddedPostgres, template: str, prefix: str) -> str:
    """A new database ``<prefix>_<random>`` copied from ``template``; its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server.url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return server.dsn(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s: {last}")


@dataclass
class Stack:
    database_url: str
    redis_url: str
    log_dir: Path
    api_port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def hub_url(self) -> str:
        return f"ws://127.0.0.1:{self.hub_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "KITCHEN_SECRET_KEYS": SECRET,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(self.api_port),
            "HUB_HOST": "127.0.0.1",
            "HUB_PORT": str(self.hub_port),
            "PUBLIC_API_URL": self.api_url,
            "PUBLIC_HUB_URL": self.hub_url,
            "KITCHEN_DATA_DIR": str(self.log_dir),
            "WORKER_METRICS_PORT": "0",
            "WORKER_DISCOVER_S": "0.5",
            "WORKER_OVERDUE_S": "1",
            "WORKER_CONSUMER": f"e2e-{os.getpid()}",
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("KITCHEN_DEV", None)
        return env

    def settings(self) -> Settings:
        return Settings.from_env(self.env())

    async def seed(self) -> dict[str, str]:
        redis = aioredis.Redis.from_url(self.redis_url, decode_responses=False)
        pool = await create_pool(self.database_url, min_size=1, max_size=2)
        try:
            return await demo.seed(pool, redis, self.settings())
        finally:
            await pool.close()
            await redis.aclose()

    def start(self, timeout: float = 30.0) -> Stack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.urls = run_async(self.seed())
        for name, module in PROCESSES:
            self.spawn(name, module)
        try:
            wait_http(f"{self.api_url}/healthz", timeout, self.procs)
            wait_http(f"http://127.0.0.1:{self.hub_port}/healthz", timeout, self.procs)
        except Exception:
            self.stop()
            raise
        return self

    def spawn(self, name: str, module: str) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.logs[name] = log
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, env=self.env(), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def stop_one(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process (SIGTERM: the graceful way; SIGKILL: a crash)."""
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=15)
        self.logs[name].close()

    def start_one(self, name: str, timeout: float = 30.0) -> None:
        """Start a stopped process again on the same port and wait until it is healthy."""
        module = dict(PROCESSES)[name]
        self.spawn(name, module)
        health = {"api": f"{self.api_url}/healthz",
                  "hub": f"http://127.0.0.1:{self.hub_port}/healthz"}.get(name)
        if health:
            wait_http(health, timeout, {name: self.procs[name]})

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs.values():
            if not log.closed:
                log.close()
        self.procs.clear()

    def url(self, prefix: str) -> str:
        """The seeded page URL whose name starts with ``prefix`` (``"station wok"``, …)."""
        for name, url in self.urls.items():
            if name.startswith(prefix):
                return url
        raise KeyError(f"no page {prefix!r} in {sorted(self.urls)}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main() -> int:  # pragma: no cover - a manual tool
    import tempfile

    from kitchen.db import migrate
    from kitchen.embedded import EmbeddedPostgres, EmbeddedRedis

    pg = EmbeddedPostgres(durable=False).start()
    rd = EmbeddedRedis(durable=False).start()
    tmp = Path(tempfile.mkdtemp(prefix="kitchen-e2e-"))
    try:
        run_async(migrate(pg.url))
        stack = Stack(pg.url, rd.url, tmp).start()
        for name, url in stack.urls.items():
            print(f"{name:28} {url}", flush=True)
        print(f"logs in {tmp}", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
        stack.stop()
    finally:
        rd.stop()
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

