"""The ``make run`` supervisor restarts a dead child and leaves nothing behind when stopped."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from kitchen.embedded import process_gone

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
    }
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = Lines(supervisor)
        first = int(lines.wait_for(r"fake \| child pid (\d+)")[1])
        assert any("ghost skipped" in line for line in lines.seen)
        os.kill(first, signal.SIGKILL)
        lines.wait_for(r"fake exited with code -9")
        second = int(lines.wait_for(r"fake \| child pid (\d+)", timeout=10)[1])
        assert second != first
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(15) == 0
        assert process_gone(second)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        if supervisor.stdout is not None:
            supervisor.stdout.close()
