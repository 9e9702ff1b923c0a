"""A diner outside the load generator, timing its orders as the server answers them.

Under heavy load Locust's own processes (thousands of users in gevent each) add their
scheduling delay to every time they report. The probe is one plain thread in the
orchestrating process, with a keep-alive connection of its own: it places an order every
``1 / rate`` seconds at a different table of the plan during the plateau and records each in
the run's ledger exactly as a Locust diner does (the first dish's note carries the
Idempotency-Key), so the post-run check covers its orders too. ``loadtests.run --probe-rate``
starts it; its figures go to ``summary.json`` (``probe``).
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadtests.ledger import Ledger


class Probe(threading.Thread):
    def __init__(self, plan: dict[str, Any], run_dir: Path, *, start_after_s: float,
                 seconds: float, rate: float) -> None:
        super().__init__(name="probe", daemon=True)
        self.plan, self.run_dir = plan, run_dir
        self.start_after_s, self.seconds, self.interval = start_after_s, seconds, 1 / rate
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        if self._halt.wait(self.start_after_s):
            return
        url = urlsplit(self.plan["api_url"])
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=60)
        ledger = Ledger(self.run_dir)
        dishes = sorted(self.plan["menu"]["dishes"])
        seats = itertools.cycle([(r["id"], table, token) for r in self.plan["restaurants"]
                                 for table, token in sorted(r["tables"].items())][::-1])
        end = time.monotonic() + self.seconds
        try:
            while time.monotonic() < end and not self._halt.is_set():
                due = time.monotonic() + self.interval
                self._order(conn, ledger, *next(seats), dishes)
                self._halt.wait(max(0.0, due - time.monotonic()))
        finally:
            ledger.close()
            conn.close()

    def _order(self, conn: http.client.HTTPConnection, ledger: Ledger, rid: str, table: str,
               token: str, dishes: list[str]) -> None:
        key = uuid.uuid4().hex
        items: list[dict[str, Any]] = [{"dish_id": d, "qty": 1}
                                        for d in random.sample(dishes, 4)]
        ledger.order_sent(rid, key, items)
        ledger.flush()
        started = time.perf_counter()
        try:
            conn.request("POST", f"/api/r/{rid}/tables/{table}/orders",
                         json.dumps({"items": items}),
                         {"Authorization": f"Bearer {token}", "Idempotency-Key": key,
                          "Content-Type": "application/json"})
            res = conn.getresponse()
            body = res.read()
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append(repr(exc))
            conn.close()  # reconnects on the next request
            return
        self.latencies.append(time.perf_counter() - started)
        if res.status != 201:
            self.failures.append(f"{res.status}: {body[:200]!r}")
            return
        ledger.order_accepted(rid, key, json.loads(body))
        ledger.flush()

    def summary(self) -> dict[str, Any]:
        ms = sorted(1000 * x for x in self.latencies)
        if not ms:
            return {"orders": 0, "failed": len(self.failures)}

        def q(p: float) -> float:
            return round(ms[min(len(ms) - 1, int(len(ms) * p))], 1)

        return {"orders": len(ms), "failed": len(self.failures), "p50_ms": q(0.5),
                "p90_ms": q(0.9), "p99_ms": q(0.99), "max_ms": round(ms[-1], 1),
                "mean_ms": round(statistics.fmean(ms), 1), "first_failures": self.failures[:3]}
