"""What reading a restaurant's open orders costs as its day fills up: through the open-order
index (``Store.open_orders``, what the screens' snapshots and the overdue scan read) against
the whole day's orders (``Store.orders``, what they read before the index), in the same run.

    python -m benchmarks.open_orders [--restaurants 200] [--served 0 50 150 300] [--open 5]

An embedded Redis (durable, as shipped) in a temporary folder. For each number of served
orders per restaurant, every restaurant gets that many served orders and ``--open`` orders of
four dishes still cooking; then, in alternating rounds, each way is timed:

* ``snapshot``: the open orders of one restaurant, as a station screen's snapshot reads them
  (median per read, ms);
* ``scan``: one overdue scan over every restaurant with nothing due (wall ms per scan, and the
  Redis CPU it cost), by the scanner (index) and by reading every restaurant's orders and
  checking each, as the scanner did before the index.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from kitchen import codec, demo, dishflow, keys, ordering
from kitchen.embedded import EmbeddedRedis
from kitchen.model import Order
from kitchen.store import Store, open_entry
from workers.overdue import OverdueScanner

T0 = 1_700_000_000_000
DISHES = ("d18", "d20", "d08", "d39")


def _order(menu: Any, n: int, served: bool) -> Order:
    items = tuple(ordering.Item(qty=1, dish_id=d) for d in DISHES)
    o = ordering.new_order(menu, f"o{n}", "A1", "s1", n, items, T0 + n)
    if served:
        ids = tuple(ln.id for ln in o.lines)
        o = dishflow.move(o, "ready", ids, T0 + n + 1)[0]
        o = dishflow.move(o, "serve", ids, T0 + n + 2)[0]
    return o


async def _fill(redis: aioredis.Redis, store: Store, rids: list[str], served: int,
                open_: int) -> None:
    for rid in rids:
        menu = demo.menu(rid, now_ms=T0)
        await store.install(menu, {}, replace=True)
        orders = [_order(menu, n, n < served) for n in range(served + open_)]
        pipe = redis.pipeline(transaction=False)
        pipe.hset(keys.orders(rid), mapping={o.id: codec.pack(o.to_dict()) for o in orders})
        for o in orders:
            if (entry := open_entry(o)) is not None:
                pipe.hset(keys.open_orders(rid), o.id, entry)
        await pipe.execute()


async def _redis_cpu(redis: aioredis.Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def _day_scan(store: Store, rids: list[str], now: int) -> int:
    """The scan as it was: every order of every restaurant, read and checked."""
    due = 0
    for rid in rids:
        due += sum(len(dishflow.overdue_lines(o, now)) for o in await store.orders(rid))
    return due


async def _measure(redis: aioredis.Redis, rids: list[str], rounds: int) -> dict[str, Any]:
    store = Store(redis)
    scanner = OverdueScanner(redis, store)
    now = T0 + 10_000  # nothing is due yet
    ways = {"index": store.open_orders, "day": store.orders}
    snap: dict[str, list[float]] = {w: [] for w in ways}
    scan: dict[str, list[float]] = {w: [] for w in ways}
    scan_redis: dict[str, list[float]] = {w: [] for w in ways}
    for n in range(rounds):
        for way in (("index", "day") if n % 2 == 0 else ("day", "index")):
            read = ways[way]
            for rid in rids[:50]:
                t = time.perf_counter()
                got = [o for o in await read(rid) if dishflow.is_open(o)]
                snap[way].append((time.perf_counter() - t) * 1000)
                assert got, "no open order read"
            cpu0, t = await _redis_cpu(redis), time.perf_counter()
            if way == "index":
                flagged = await scanner.scan_all(now=now)
            else:
                flagged = await _day_scan(store, rids, now)
            scan[way].append((time.perf_counter() - t) * 1000)
            scan_redis[way].append((await _redis_cpu(redis) - cpu0) * 1000)
            assert flagged == 0
    return {way: {"snapshot_ms": statistics.median(snap[way]),
                  "scan_ms": statistics.median(scan[way]),
                  "scan_redis_cpu_ms": statistics.median(scan_redis[way])} for way in ways}


async def _run(url: str, restaurants: int, served: list[int], open_: int, rounds: int
               ) -> None:
    redis = aioredis.Redis.from_url(url)
    rids = [f"bench{n:04d}" for n in range(restaurants)]
    print(f"{restaurants} restaurants, {open_} open orders each (4 dishes), medians of "
          f"{rounds} alternating rounds")
    print("| served orders per restaurant | snapshot read, index / whole day (ms) | "
          "overdue scan, index / whole day (ms) | Redis CPU per scan, index / whole day (ms) |")
    print("|---|---|---|---|")
    try:
        for n in served:
            await _fill(redis, Store(redis), rids, n, open_)
            m = await _measure(redis, rids, rounds)
            i, d = m["index"], m["day"]
            print(f"| {n} | {i['snapshot_ms']:.2f} / {d['snapshot_ms']:.2f} | "
                  f"{i['scan_ms']:.0f} / {d['scan_ms']:.0f} | "
                  f"{i['scan_redis_cpu_ms']:.0f} / {d['scan_redis_cpu_ms']:.0f} |", flush=True)
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restaurants", type=int, default=200)
    parser.add_argument("--served", type=int, nargs="+", default=[0, 50, 150, 300])
    parser.add_argument("--open", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kitchen-open-") as tmp:
        rd = EmbeddedRedis(Path(tmp) / "redis")
        rd.start()
        try:
            asyncio.run(_run(rd.url, args.restaurants, args.served, args.open, args.rounds))
        finally:
            rd.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
