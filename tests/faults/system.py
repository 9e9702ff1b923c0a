"""The system as real processes for the fault suite: ``python -m api``, ``python -m hub`` and
``python -m workers`` on free ports, against a durable Redis and the session's PostgreSQL.

Each process can be killed with SIGKILL (no chance to clean up) and started again on the same
port with the same settings, as a supervisor would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from kitchen.embedded import EmbeddedRedis, die_with_parent, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fault-suite-secret-key-for-signing-0123456789"
START_TIMEOUT_S = 30.0


@dataclass
class Proc:
    """One Procfile process, restartable on the same port."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log: IO[bytes] | None = None

    def spawn(self) -> None:
        if self._log is None:
            self._log = self.log_path.open("ab")
        self._log.write(f"---- start {self.starts + 1} ----\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            [sys.executable, *self.argv], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent())
        self.starts += 1

    async def start(self, within: float = START_TIMEOUT_S) -> None:
        self.spawn()
        await self.wait_healthy(within)

    async def wait_healthy(self, within: float) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.popen is not None and self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n"
                                       f"{self.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.health_url)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} not healthy within {within} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a pulled plug would."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 30) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class System:
    """api, hub and workers of one restaurant deployment, plus the Redis they share."""

    database_url: str
    redis: EmbeddedRedis
    log_dir: Path
    api_port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def hub_url(self) -> str:
        return f"ws://127.0.0.1:{self.hub_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KITCHEN_", "WORKER_"))}
        env.update({
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "KITCHEN_SECRET_KEYS": SECRET,
            "API_HOST": "127.0.0.1", "API_PORT": str(self.api_port),
            "HUB_HOST": "127.0.0.1", "HUB_PORT": str(self.hub_port),
            "PUBLIC_API_URL": self.api_url, "PUBLIC_HUB_URL": self.hub_url,
            "KITCHEN_DATA_DIR": str(self.log_dir),
            "WORKER_CONSUMER": "faults-1",
            "WORKER_METRICS_PORT": str(self.metrics_port),
            "WORKER_DISCOVER_S": "0.5",
            "WORKER_RECLAIM_S": "1",
            "WORKER_VISIBILITY_MS": "3000",
            "WORKER_BLOCK_MS": "500",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def build(self) -> System:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        self.procs = {
            "api": Proc("api", ["-m", "api"], env, f"{self.api_url}/healthz",
                        self.log_dir / "api.log"),
            "hub": Proc("hub", ["-m", "hub"], env,
                        f"http://127.0.0.1:{self.hub_port}/healthz", self.log_dir / "hub.log"),
            "worker": Proc("worker", ["-m", "workers"], env,
                           f"http://127.0.0.1:{self.metrics_port}/healthz",
                           self.log_dir / "worker.log"),
        }
        return self

    async def start(self, names: tuple[str, ...] = ("api", "hub", "worker")) -> None:
        """Start the named processes; the others are left out of this system."""
        self.procs = {n: p for n, p in self.procs.items() if n in names}
        for proc in self.procs.values():
            proc.spawn()
        await asyncio.gather(*(p.wait_healthy(START_TIMEOUT_S) for p in self.procs.values()))

    async def kill_and_restart(self, name: str, down_s: float) -> None:
        """SIGKILL one process (or Redis), leave it down for ``down_s``, start it again."""
        if name == "redis":
            pid = self.redis.process.pid
            os.kill(pid, signal.SIGKILL)
            await asyncio.to_thread(self.redis.process.wait)
            await asyncio.sleep(down_s)
            await self.redis.arestart()
            return
        proc = self.procs[name]
        proc.kill()
        await asyncio.sleep(down_s)
        await proc.start()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
