"""The fault suite's scenario: a running system, its screens and load, and the final checks.

Scale comes from ``FAULTS_SCALE`` (``short`` by default, for CI; ``long`` for ``make faults``).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis

from kitchen import channels, codec, demo, keys, tokens
from kitchen.db import create_pool
from kitchen.embedded import EmbeddedRedis
from kitchen.settings import Settings
from tests.faults.load import Client, Ledger, Load
from tests.faults.screens import Pos, Screen, Spec, parse_pos, routed_positions, run_all
from tests.faults.system import SECRET, System

R = demo.RESTAURANT
DINER_TABLES = (*(f"A{n}" for n in range(1, 11)), "B1", "B2")
SCREEN_TABLES = ("A1", "A2", "A3")
STATIONS = ("wok", "steam", "cold", "bar")
BURST = 6  # orders sent at once just before the api or Redis is killed


@dataclass(frozen=True)
class Scale:
    rate: float  # orders per second
    warmup_s: float
    phase_s: float  # time between two kills
    down_s: float  # how long a killed process stays down
    final_s: float
    rounds: int  # how many times each process is killed

    @classmethod
    def from_env(cls) -> Scale:
        if os.environ.get("FAULTS_SCALE", "short") == "long":
            return cls(rate=3.0, warmup_s=8, phase_s=12, down_s=1.5, final_s=8, rounds=2)
        return cls(rate=2.0, warmup_s=4, phase_s=6, down_s=1.0, final_s=4, rounds=1)


@dataclass
class Report:
    kills: list[str] = field(default_factory=list)
    acknowledged: int = 0
    persisted: int = 0
    delivered: int = 0
    duplicates: int = 0
    lost: int = 0
    doubled: int = 0
    unknown: int = 0
    unknown_committed: int = 0
    replayed: int = 0
    retries: int = 0
    reconnects: int = 0
    reloads: int = 0
    problems: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"kills (SIGKILL, in order): {', '.join(self.kills)}",
            f"acknowledged orders: {self.acknowledged}",
            f"persisted in PostgreSQL (of those): {self.persisted}",
            f"events delivered to screens: {self.delivered}",
            f"duplicates delivered: {self.duplicates}",
            f"lost (acknowledged but missing, or missed by a screen): {self.lost}",
            f"doubled orders (one key, two orders): {self.doubled}",
            f"requests never answered: {self.unknown} (committed anyway: "
            f"{self.unknown_committed})",
            f"retries: {self.retries}, answers replayed: {self.replayed}",
            f"screen reconnects: {self.reconnects}, snapshot reloads: {self.reloads}",
            *[f"{k}: {v}" for k, v in self.extra.items()],
            *[f"PROBLEM: {p}" for p in self.problems],
        ]


def token(role: str, station: str = "") -> str:
    return tokens.issue([SECRET], role, [R], ttl=3600, station=station)[0]


@asynccontextmanager
async def running_system(database_url: str, redis_server: EmbeddedRedis, log_dir: Path,
                         names: tuple[str, ...] = ("api", "hub", "worker")
                         ) -> AsyncIterator[System]:
    system = System(database_url, redis_server, log_dir).build()
    redis = aioredis.Redis.from_url(redis_server.url, decode_responses=False)
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        await demo.seed(pool, redis, Settings.from_env(system.env()))
    finally:
        await pool.close()
        await redis.aclose()
    try:
        await system.start(names)
        yield system
    finally:
        system.stop()


async def diner_tokens(client: Client, merchant: str, tables: tuple[str, ...]
                       ) -> dict[str, str]:
    """Seat each table (A1 is seated by the demo seed) and trade its QR code for a token."""
    out = {}
    for table in tables:
        await client.command("POST", f"/api/r/{R}/tables/{table}/open", merchant,
                             {"guests": 2}, retry_for=5)
        qr = (await client.get(f"/api/r/{R}/tables/{table}/qr", merchant))["token"]
        res = await client.http.post("/api/diner/session", json={"qr": qr})
        res.raise_for_status()
        out[table] = res.json()["token"]
    return out


def screen_specs(diners: dict[str, str]) -> list[Spec]:
    specs = [Spec(f"station-{s}", "station", channels.station(R, s),
                  f"/api/r/{R}/stations/{s}/tickets", token("station", station=s), s)
             for s in STATIONS]
    expo = token("expo")
    specs.append(Spec("expo", "expo", channels.expo(R), f"/api/r/{R}/expo", expo))
    specs.append(Spec("expo-msgpack", "expo", channels.expo(R), f"/api/r/{R}/expo", expo,
                      msgpack=True))
    specs += [Spec(f"table-{t}", "table", channels.table(R, t),
                   f"/api/r/{R}/tables/{t}/orders", diners[t], t) for t in SCREEN_TABLES]
    return specs


async def wait_for(check: Any, within: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


async def log_entries(redis: aioredis.Redis) -> list[tuple[Pos, frozenset[str]]]:
    out = []
    raw: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(keys.log(R))  # type: ignore[assignment]
    for pos, fields in raw:
        env = codec.peek(fields[keys.STREAM_FIELD])
        out.append((parse_pos(pos.decode()), channels.route(env)))
    return out


async def persisted_events(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM events WHERE restaurant_id = $1", R)
        return n
    finally:
        await conn.close()


async def check_postgres(database_url: str, ledger: Ledger, prefix: str, report: Report
                         ) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        placed = {r["id"]: r["n"] for r in await conn.fetch(
            "SELECT payload->'order'->>'id' AS id, count(*) AS n FROM events "
            "WHERE restaurant_id = $1 AND type = 'order.placed' GROUP BY 1", R)}
        stored = {r["id"] for r in await conn.fetch(
            "SELECT id FROM orders WHERE restaurant_id = $1", R)}
        by_note: dict[str, set[str]] = {}
        for r in await conn.fetch("SELECT DISTINCT note, order_id FROM order_lines "
                                  "WHERE restaurant_id = $1 AND note LIKE $2", R, prefix + "%"):
            by_note.setdefault(r["note"], set()).add(r["order_id"])
    finally:
        await conn.close()
    acked = ledger.acknowledged
    report.persisted = sum(1 for oid in acked.values() if oid in stored and placed.get(oid) == 1)
    missing = [k for k, oid in acked.items() if oid not in stored]
    report.lost += len(missing)
    report.doubled = sum(1 for ids in by_note.values() if len(ids) > 1)
    report.doubled += sum(1 for oid in acked.values() if placed.get(oid, 0) > 1)
    wrong = [k for k, oid in acked.items() if by_note.get(k, {oid}) != {oid}]
    report.unknown_committed = sum(1 for k in ledger.unknown if k in by_note)
    if missing:
        report.problems.append(f"acknowledged orders missing in PostgreSQL: {missing[:5]}")
    if wrong:
        report.problems.append(f"keys whose stored order is not the acknowledged one: "
                               f"{wrong[:5]}")


async def check_screens(screens: list[Screen], redis: aioredis.Redis, report: Report) -> None:
    """Every screen caught up, equal to a fresh snapshot, nothing twice, nothing missed.

    The log may still grow (the overdue scan flags late dishes): each check is made against
    a position every screen has reached, and views compare dish statuses, which only the
    (stopped) load changes.
    """
    entries = await log_entries(redis)

    def reached(pos_limit: Pos) -> Any:
        async def check() -> bool:
            return all(s.pos >= max((p for p in routed_positions(entries, s.spec.channel)
                                     if p <= pos_limit), default=(0, 0)) for s in screens)
        return check

    end = entries[-1][0] if entries else (0, 0)
    await wait_for(reached(end), 30, "every screen to reach the end of the log")
    async with httpx.AsyncClient(timeout=5.0) as http:
        for screen in screens:
            body = await screen.fetch_snapshot(http)
            at = parse_pos(body["pos"])
            if at > end:
                entries = await log_entries(redis)
                await wait_for(reached(at), 30, f"{screen.spec.name} to reach {body['pos']}")
            fresh = screen.spec.view(screen.spec.orders_of_snapshot(body))
            shown = screen.view()
            if fresh != shown:
                differ = sorted(set(fresh.items()) ^ set(shown.items()))[:3]
                report.lost += len({oid for oid, _ in differ})
                report.problems.append(f"{screen.spec.name} differs from a fresh snapshot: "
                                       f"{differ}")
            routed = [p for p in routed_positions(entries, screen.spec.channel) if p <= end]
            gaps = screen.gaps(routed)
            if gaps:
                report.lost += len(gaps)
                report.problems.append(f"{screen.spec.name} missed events {gaps[:5]}")
            if screen.refused:
                report.problems.append(f"{screen.spec.name} refused: {screen.refused[:3]}")
            if screen.status != "live":
                report.problems.append(f"{screen.spec.name} ended {screen.status}")
            report.delivered += screen.delivered
            report.duplicates += screen.duplicates + screen.out_of_order
            report.reconnects += screen.reconnects
            report.reloads += screen.reloads


async def replay_some(load: Load, report: Report, n: int = 20) -> None:
    """Send acknowledged orders again with their keys: each answer is the first, replayed."""
    sample = sorted(load.ledger.acknowledged.items())[:n]
    bad = []
    for key, oid in sample:
        table, items = load.sent[key]
        answer = await load.client.command("POST", f"/api/r/{R}/tables/{table}/orders",
                                           load.diners[table], {"items": items}, key, 10)
        if (answer is None or answer.status != 201 or not answer.replayed
                or answer.body["order"]["id"] != oid):
            bad.append(key)
    report.extra["acknowledged orders sent again"] = f"{len(sample)}, all replayed: {not bad}"
    if bad:
        report.problems.append(f"a repeated key did not replay its first answer: {bad[:5]}")


async def run_scenario(system: System, database_url: str, scale: Scale, seed: int = 8
                       ) -> Report:
    rng = random.Random(seed)
    report = Report()
    redis = aioredis.Redis.from_url(system.redis.url, decode_responses=False)
    ledger = Ledger()
    client = Client(system.api_url, ledger)
    failures: list[str] = []
    stop_screens = asyncio.Event()
    screens_task: asyncio.Task[None] | None = None
    try:
        merchant = token("merchant")
        diners = await diner_tokens(client, merchant, DINER_TABLES)
        screens = [Screen(spec, system.api_url, system.hub_url, R)
                   for spec in screen_specs(diners)]
        screens_task = asyncio.create_task(run_all(
            screens, stop_screens, lambda s, e: failures.append(f"{s.spec.name}: {e!r}")))

        async def all_live() -> bool:
            return all(s.status == "live" for s in screens)

        await wait_for(all_live, 15, "every screen to be live")

        def kitchen_view() -> list[dict[str, Any]]:
            seen: dict[str, dict[str, Any]] = {}
            for s in screens:
                seen.update(s.orders)
            return list(seen.values())

        load = Load(client, R, diners, {s: token("station", station=s) for s in STATIONS},
                    token("expo"), scale.rate, kitchen_view)
        stop_load = asyncio.Event()
        load_task = asyncio.create_task(load.run(stop_load, seed))
        await asyncio.sleep(scale.warmup_s)
        for _ in range(scale.rounds):
            for name in ("api", "hub", "worker", "redis"):
                await asyncio.sleep(rng.uniform(0.3, 1.0) * scale.phase_s)
                if name in ("api", "redis"):  # catch commands half-way
                    load.burst(BURST, rng)
                    await asyncio.sleep(rng.uniform(0.002, 0.03))
                report.kills.append(name)
                await system.kill_and_restart(name, scale.down_s)
        await asyncio.sleep(scale.final_s)
        stop_load.set()
        await load_task

        length = await redis.xlen(keys.log(R))

        async def drained() -> bool:
            return await persisted_events(database_url) >= length

        await wait_for(drained, 60, "the persist worker to write every event", 0.5)
        await check_postgres(database_url, ledger, f"f{load.run_id}-", report)
        await check_screens(screens, redis, report)
        await replay_some(load, report)
        report.acknowledged = len(ledger.acknowledged)
        report.unknown = len(ledger.unknown)
        report.replayed = ledger.replayed
        report.retries = ledger.retries
        report.extra["refused orders"] = dict(ledger.refused)
        report.extra["kitchen moves and urges"] = dict(ledger.actions)
        report.extra["events in the log"] = length
        if ledger.server_errors:
            report.problems.append(f"500 answers: {ledger.server_errors[:3]}")
        report.problems += failures
    finally:
        stop_screens.set()
        if screens_task is not None:
            await screens_task
        await client.aclose()
        await redis.aclose()
    return report
