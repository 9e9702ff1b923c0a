"""What one load-generator process saw, written to the run folder for the post-run check.

Each process appends JSON lines to its own files (no locking between processes), so a
distributed run (a master and several workers on this machine) leaves one set per process:

    accepted-<pid>.jsonl  orders the API acknowledged: restaurant, order id, ticket no,
                          stations of its dishes, stream position
    seen-<pid>.jsonl      tickets that reached a kitchen screen: restaurant, screen, order id
    stopped-<pid>.jsonl   kitchen screens that stopped: restaurant, screen, the last stream
                          position they read, when (ms)
    served-<pid>.jsonl    orders the pass marked served

Slots (which restaurant, table or station a new user takes) are held with a lock file each
in ``claims/`` for as long as the user lives, so two users never drive the same kitchen
screen or table, whichever process they run in.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def pos_ms(pos: str) -> int:
    """The millisecond part of a stream position: when Redis appended the event."""
    return int(pos.partition("-")[0])


def pos_key(pos: str) -> tuple[int, int]:
    ms, _, seq = pos.partition("-")
    return int(ms), int(seq or 0)


class Ledger:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "claims").mkdir(exist_ok=True)
        self._files: dict[str, IO[str]] = {}

    def _file(self, kind: str) -> IO[str]:
        f = self._files.get(kind)
        if f is None:
            f = open(self.run_dir / f"{kind}-{os.getpid()}.jsonl", "a", encoding="utf-8")
            self._files[kind] = f
        return f

    def write(self, kind: str, record: dict[str, Any]) -> None:
        self._file(kind).write(json.dumps(record, separators=(",", ":")) + "\n")

    def order_sent(self, restaurant_id: str, key: str, items: list[dict[str, Any]]) -> None:
        """An order about to be sent with Idempotency-Key ``key``. The key rides in the first
        dish's note (``k:<key>``), so the check can tell which tap made which order in
        PostgreSQL, and that no tap made two."""
        items[0]["note"] = f"k:{key}"
        self.write("sent", {"r": restaurant_id, "k": key})

    def order_accepted(self, restaurant_id: str, key: str, answer: dict[str, Any]) -> None:
        """The API's answer to an order: what the check expects in PostgreSQL and on screens."""
        order = answer["order"]
        self.write("accepted", {
            "r": restaurant_id, "o": order["id"], "no": order["no"], "pos": answer.get("pos", ""),
            "k": key, "st": sorted({ln["station_id"] for ln in order["lines"]})})

    def lines_added(self, restaurant_id: str, before: dict[str, Any],
                    answer: dict[str, Any]) -> None:
        """加菜 that brought the order to stations it did not have: their screens must show
        it too (from the ``order.lines_added`` event)."""
        had = {ln["station_id"] for ln in before["lines"]}
        now = {ln["station_id"] for ln in answer["order"]["lines"]}
        if now - had:
            self.write("added", {"r": restaurant_id, "o": before["id"],
                                 "pos": answer.get("pos", ""), "st": sorted(now - had)})

    def flush(self) -> None:
        for f in self._files.values():
            f.flush()

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def claim(self, name: str) -> int:
        """The next number of counter ``name``, unique across processes on this machine."""
        path = self.run_dir / "claims" / name
        with open(path, "a+", encoding="ascii") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            text = f.read().strip()
            value = int(text) if text else 0
            f.seek(0)
            f.truncate()
            f.write(str(value + 1))
            f.flush()
            return value


    def hold(self, name: str, slots: int) -> tuple[int, IO[str]] | None:
        """A slot of ``name`` (0 ≤ slot < ``slots``) that no live user holds, and the open
        lock file that holds it until it is closed (or its process ends); None when every
        slot is held. Users that replace others (a worker Locust took for lost while it still
        ran) so never drive the same screen or table twice."""
        start = self.claim(name)
        for n in range(slots):
            slot = (start + n) % slots
            f = open(self.run_dir / "claims" / f"{name}-{slot}.lock", "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            return slot, f
        return None


def read(run_dir: Path, kind: str) -> Iterator[dict[str, Any]]:
    """Every record of ``kind`` written by every process of the run."""
    for path in sorted(run_dir.glob(f"{kind}-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
