"""The ``make run`` supervisor restarts a dead child and leaves nothing behind when stopped."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psutil
import pytest

from kitchen import devserver
from kitchen.embedded import free_port, process_gone
from kitchen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

SUPERVISOR = """
import asyncio, os, sys
from kitchen import devserver
from kitchen.settings import Settings
processes = [("fake", "fakechild"), ("ghost", "nosuchmodule")]
sys.exit(asyncio.run(devserver.run(Settings.from_env(), dict(os.environ), processes)))
"""

CHILD = """
import os, time
print(f"child pid {os.getpid()}", flush=True)
time.sleep(600)
"""


class Lines:
    """The output of a process, line by line, readable with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.seen)}")


def test_supervisor_restarts_children_and_stops_cleanly(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A SIGKILLed child comes back; SIGTERM stops the supervisor and its children."""
    (tmp_path / "fakechild").mkdir()
    (tmp_path / "fakechild" / "__main__.py").write_text(CHILD)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KITCHEN_DEV": "1",
        "API_PORT": str(free_port()),
        "HUB_PORT": str(free_port()),
    }
    with supervised(env, tmp_path) as (supervisor, lines):
        first = int(lines.wait_for(r"fake \| child pid (\d+)")[1])
        assert any("ghost skipped" in line for line in lines.seen)
        os.kill(first, signal.SIGKILL)
        lines.wait_for(r"fake exited with code -9")
        second = int(lines.wait_for(r"fake \| child pid (\d+)", timeout=10)[1])
        assert second != first
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(15) == 0
        assert process_gone(second)


@contextlib.contextmanager
def supervised(env: dict[str, str], cwd: Path) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """The supervisor with a fake child, its output read line by line; killed at the end."""
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR], cwd=cwd, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield supervisor, Lines(supervisor)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        if supervisor.stdout is not None:
            supervisor.stdout.close()


def test_a_port_in_use_or_a_data_folder_in_use_stops_the_start_with_a_reason(
        database_url: str, redis_url: str, tmp_path: Path) -> None:
    """Another server on the API's port: `python -m kitchen run` says so and exits 2, instead
    of printing links to that server. A second run on the same data folder is refused too,
    so two Redis servers never write one append-only file."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "KITCHEN_DEV": "1", "HUB_PORT": str(free_port()),
           "KITCHEN_DATA_DIR": str(tmp_path / "data")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "kitchen", "run"], cwd=ROOT,
                              env={**env, "API_PORT": str(port)}, capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"API_PORT {port}" in done.stderr and "in use" in done.stderr
    held = devserver.lock_data_dir(tmp_path / "data")
    try:
        with pytest.raises(ConfigError, match="in use by another"):
            devserver.lock_data_dir(tmp_path / "data")
        with pytest.raises(ConfigError):
            devserver.clean_data(tmp_path / "data")
    finally:
        held.close()
    assert devserver.clean_data(tmp_path / "data") == [tmp_path / "data"]
    assert not (tmp_path / "data").exists()


def test_an_embedded_redis_that_dies_stops_everything_with_a_message(
        database_url: str, tmp_path: Path) -> None:
    """The embedded Redis is killed: the supervisor does not carry on with processes that
    cannot work; it says which server stopped, stops everything and exits 1."""
    (tmp_path / "fakechild").mkdir()
    (tmp_path / "fakechild" / "__main__.py").write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", DATABASE_URL=database_url,
               KITCHEN_DEV="1", API_PORT=str(free_port()), HUB_PORT=str(free_port()))
    with supervised(env, tmp_path) as (supervisor, lines):
        lines.wait_for(r"fake \| child pid (\d+)", timeout=60)
        redis_server = next(p for p in psutil.Process(supervisor.pid).children(recursive=True)
                            if "redis" in p.name())
        redis_server.kill()
        lines.wait_for(r"EmbeddedRedis stopped unexpectedly", timeout=15)
        assert supervisor.wait(30) == 1


def test_passwords_are_not_printed() -> None:
    assert devserver._redacted("postgresql://app:S3cret@db:5432/kitchen") == \
        "postgresql://app:***@db:5432/kitchen"
    assert devserver._redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
