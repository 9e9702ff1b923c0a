"""The accept benchmark's load generator: orders over raw keep-alive HTTP/1.1, cheap per request.

    python -m benchmarks.accept_load --url http://127.0.0.1:PORT --plan plan.json \
        --seconds 15 --connections 64 [--rate 3000]

Without ``--rate`` it runs closed-loop (each connection sends its next order as soon as the
last is answered: the capacity). With ``--rate`` it is open-loop: order *i* is due at
``start + i / rate``, spread over the connections, and its latency counts from when it was due,
so a server that falls behind shows it (no coordinated omission). Prints one JSON object:
counts by status, orders/s, latency percentiles in ms and this process's CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ITEMS_PER_ORDER = 4


class Orders:
    """Request bytes for orders spread over every table of every restaurant of the plan."""

    def __init__(self, plan: dict[str, Any], host: str, seed: int) -> None:
        rng = random.Random(seed)
        self.dishes = sorted(plan["menu"]["dishes"])
        self.slots = [(r["id"], table, token) for r in plan["restaurants"]
                      for table, token in r["tables"].items()]
        rng.shuffle(self.slots)
        self.host = host
        self.rng = rng
        self.cycle = itertools.cycle(self.slots)

    def next(self) -> bytes:
        rid, table, token = next(self.cycle)
        dishes = self.rng.sample(self.dishes, ITEMS_PER_ORDER)
        body = json.dumps({"items": [{"dish_id": d, "qty": 1} for d in dishes]}).encode()
        head = (f"POST /api/r/{rid}/tables/{table}/orders HTTP/1.1\r\n"
                f"Host: {self.host}\r\nAuthorization: Bearer {token}\r\n"
                f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status


class Run:
    def __init__(self, orders: Orders, host: str, port: int) -> None:
        self.orders = orders
        self.host, self.port = host, port
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    async def closed_loop(self, deadline: float) -> None:
        reader, writer = await self._connect()
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                status = await _exchange(reader, writer, self.orders.next())
                self.latencies.append(time.perf_counter() - t0)
                self.statuses[status] += 1
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.errors[type(exc).__name__] += 1
        finally:
            writer.close()

    async def open_loop(self, start: float, rate: float, index: int, stride: int,
                        deadline: float) -> None:
        reader, writer = await self._connect()
        try:
            for i in itertools.count(index, stride):
                due = start + i / rate
                if due >= deadline:
                    return
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                status = await _exchange(reader, writer, self.orders.next())
                self.latencies.append(time.perf_counter() - due)
                self.statuses[status] += 1
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.errors[type(exc).__name__] += 1
        finally:
            writer.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main_async(args: argparse.Namespace, plan: dict[str, Any]) -> dict[str, Any]:
    url = urlparse(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    run = Run(Orders(plan, f"{host}:{port}", args.seed), host, port)
    start = time.perf_counter() + 0.2
    deadline = start + args.seconds
    if args.rate:
        tasks = [run.open_loop(start, args.rate, i, args.connections, deadline)
                 for i in range(args.connections)]
    else:
        tasks = [run.closed_loop(deadline) for _ in range(args.connections)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    ok = sum(n for s, n in run.statuses.items() if 200 <= s < 300)
    ms = [v * 1000 for v in run.latencies]
    return {
        "mode": "open" if args.rate else "closed",
        "rate_asked": args.rate,
        "connections": args.connections,
        "seconds": round(elapsed, 2),
        "ok": ok,
        "statuses": {str(k): v for k, v in run.statuses.items()},
        "errors": dict(run.errors),
        "orders_per_s": round(ok / elapsed, 1),
        "p50_ms": round(percentile(ms, 0.50), 2),
        "p90_ms": round(percentile(ms, 0.90), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2) if ms else None,
        "generator_cpu_s": round((cpu1.ru_utime - cpu0.ru_utime)
                                 + (cpu1.ru_stime - cpu0.ru_stime), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0.0, help="orders/s (0: closed loop)")
    parser.add_argument("--seed", type=int, default=os.getpid())
    args = parser.parse_args(argv)
    plan = json.loads(Path(args.plan).read_text(encoding="utf-8"))
    print(json.dumps(asyncio.run(main_async(args, plan))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
