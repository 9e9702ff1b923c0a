"""A steady, bounded, scripted load: diners ordering at several tables, cooks starting and
finishing dishes, the pass serving them, a few urges.

Every command carries an Idempotency-Key and is retried with the *same* key while the answer
is unknown (connection refused or cut, 5xx, 409 ``in_progress``), as a phone or a tablet
does. An order counts as acknowledged only when a 2xx answer arrived. Each order's dish note
carries its key, so PostgreSQL can be asked whether any key produced two orders.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

# dishes without a stock limit in the demo menu, across the four cooking stations
DISHES = ("d02", "d04", "d06", "d12", "d18", "d20", "d24", "d29", "d32", "d35", "d36", "d39")
RETRY_FOR_S = 30.0
TRANSIENT = {409, 500, 502, 503, 504}


@dataclass
class Ledger:
    """What the clients asked for and what they were told."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # key → order id
    unknown: set[str] = field(default_factory=set)  # gave up without an answer
    refused: Counter[str] = field(default_factory=Counter)  # "status code" → count
    server_errors: list[str] = field(default_factory=list)  # 500s: never expected
    replayed: int = 0  # 2xx with Idempotent-Replayed: true
    retries: int = 0
    actions: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {"acknowledged": len(self.acknowledged), "unknown": len(self.unknown),
                "refused": dict(self.refused), "replayed": self.replayed,
                "retries": self.retries, "actions": dict(self.actions)}


@dataclass
class Answer:
    status: int
    body: Any
    replayed: bool


class Client:
    """Commands with one idempotency key each, retried until a definite answer."""

    def __init__(self, api_url: str, ledger: Ledger) -> None:
        self.http = httpx.AsyncClient(base_url=api_url, timeout=httpx.Timeout(5.0))
        self.ledger = ledger

    async def aclose(self) -> None:
        await self.http.aclose()

    async def command(self, method: str, path: str, token: str, body: Any = None,
                      key: str | None = None, retry_for: float = RETRY_FOR_S) -> Answer | None:
        """The definite answer (2xx or a refusal), or None when none came in time."""
        key = key or uuid.uuid4().hex
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        deadline = time.monotonic() + retry_for
        wait = 0.1
        while True:
            try:
                res = await self.http.request(method, path, json=body, headers=headers)
            except httpx.TransportError:
                res = None
            if res is not None:
                if res.status_code == 500:
                    self.ledger.server_errors.append(f"{method} {path}: {res.text[:200]}")
                if res.status_code not in TRANSIENT or (
                        res.status_code == 409 and _code(res) != "in_progress"):
                    return Answer(res.status_code, _json(res),
                                  res.headers.get("idempotent-replayed") == "true")
            if time.monotonic() > deadline:
                return None
            self.ledger.retries += 1
            await asyncio.sleep(wait)
            wait = min(wait * 2, 1.0)

    async def get(self, path: str, token: str) -> Any:
        res = await self.http.get(path, headers={"Authorization": f"Bearer {token}"})
        res.raise_for_status()
        return res.json()


def _json(res: httpx.Response) -> Any:
    try:
        return res.json()
    except ValueError:
        return None


def _code(res: httpx.Response) -> str:
    body = _json(res)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", ""))
    return ""


@dataclass
class Load:
    """The scripted service: orders at ``rate`` per second over ``tables``; kitchen moves."""

    client: Client
    restaurant: str
    diners: dict[str, str]  # table → diner token
    stations: dict[str, str]  # station → station token
    expo: str
    rate: float
    views: Callable[[], list[dict[str, Any]]]  # orders the kitchen screens show now
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    sent: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    bursts: int = 0

    @property
    def ledger(self) -> Ledger:
        return self.client.ledger

    def r(self, path: str) -> str:
        return f"/api/r/{self.restaurant}{path}"

    async def place(self, table: str, key: str, rng: random.Random) -> None:
        items = [{"dish_id": d, "qty": rng.randint(1, 2), "note": key}
                 for d in rng.sample(DISHES, rng.randint(1, 3))]
        self.sent[key] = (table, items)
        answer = await self.client.command("POST", self.r(f"/tables/{table}/orders"),
                                           self.diners[table], {"items": items}, key)
        if answer is None:
            self.ledger.unknown.add(key)
        elif answer.status == 201:
            self.ledger.acknowledged[key] = answer.body["order"]["id"]
            self.ledger.replayed += answer.replayed
        else:
            self.ledger.refused[f"order {answer.status} {_err(answer)}"] += 1

    async def kitchen_move(self, rng: random.Random) -> None:
        """One cook or the pass moves one dish it sees, as a tap on a tablet does."""
        orders = self.views()
        moves = []
        for order in orders:
            for ln in order.get("lines", ()):
                if ln["status"] == "queued":
                    moves.append(("start", self.stations.get(ln["station_id"]), order, ln))
                elif ln["status"] == "cooking":
                    moves.append(("ready", self.stations.get(ln["station_id"]), order, ln))
                elif ln["status"] == "ready":
                    moves.append(("serve", self.expo, order, ln))
        moves = [m for m in moves if m[1]]
        if not moves:
            return
        action, token, order, ln = rng.choice(moves)
        assert token is not None
        answer = await self.client.command(
            "POST", self.r(f"/orders/{order['id']}/lines/{ln['id']}/{action}"), token,
            retry_for=10.0)
        self.ledger.actions[f"{action} {answer.status if answer else 'unknown'}"] += 1

    async def urge(self, rng: random.Random) -> None:
        if not self.ledger.acknowledged:
            return
        table = rng.choice(sorted(self.diners))
        candidates = [o for o in self.views() if o.get("table_no") == table]
        if not candidates:
            return
        order = rng.choice(candidates)
        ln = order["lines"][0]
        answer = await self.client.command(
            "POST", self.r(f"/orders/{order['id']}/lines/{ln['id']}/urge"), self.diners[table],
            retry_for=10.0)
        self.ledger.actions[f"urge {answer.status if answer else 'unknown'}"] += 1

    def burst(self, n: int, rng: random.Random) -> None:
        """``n`` orders at once on as many tables, so that some are in flight at a kill."""
        self.bursts += 1
        tables = sorted(self.diners)
        for i in range(n):
            table = tables[(self.bursts * n + i) % len(tables)]
            self._spawn(self.place(table, f"f{self.run_id}-b{self.bursts}-{i}", rng))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, stop: asyncio.Event, seed: int = 8) -> None:
        """Start commands on a fixed schedule (never waiting for answers) until ``stop``."""
        rng = random.Random(seed)
        tables = itertools.cycle(sorted(self.diners))
        period = 1.0 / self.rate
        started = time.monotonic()
        for n in itertools.count(1):
            if stop.is_set():
                break
            self._spawn(self.place(next(tables), f"f{self.run_id}-{n}", rng))
            self._spawn(self.kitchen_move(rng))
            if n % 2 == 0:
                self._spawn(self.kitchen_move(rng))
            if n % 7 == 0:
                self._spawn(self.urge(rng))
            delay = started + n * period - time.monotonic()
            with_timeout = max(0.0, delay)
            try:
                await asyncio.wait_for(stop.wait(), with_timeout)
            except TimeoutError:
                pass
        await self.finish()

    async def finish(self) -> None:
        """Let every command in flight reach its answer (each is bounded in time)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def _err(answer: Answer) -> str:
    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", ""))
    return ""
