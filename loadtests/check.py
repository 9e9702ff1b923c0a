"""After a run: every order the load generator saw accepted is in PostgreSQL exactly once,
and its ticket reached every kitchen screen that should show it, exactly once.

    python -m loadtests.check --run-dir DIR --plan PLAN     (DATABASE_URL from the environment)

The persist worker writes PostgreSQL in batches, so the check first waits (up to
``--wait-s``) until PostgreSQL holds as many orders of the test restaurants as were accepted
and the count stops moving. Exit status 1 on any lost or duplicated order or ticket.

Orders that PostgreSQL holds but the generator never saw answered are told apart by the
Idempotency-Key each order carries in its first dish's note: sent but unanswered (in flight
when the run stopped, or a failed request, which fails the run by itself) is reported; an
order of no key that was sent, or two orders of one key, fails the check. A ticket counts as
shown when its ``order.placed`` event reached the screen or, after the hub told the screen to
reload, when the screen's snapshot listed it. A ticket placed in the last moments of a
screen's life, after the last position it read, is reported as in flight (see
:func:`tally_tickets`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from loadtests import ledger
from loadtests.ledger import pos_key, pos_ms
from loadtests.plan import EXPO, Plan

SAMPLE = 5  # ids shown per problem
IN_FLIGHT_MS = 10_000  # a ticket placed this close to its screen's stop may be on its way
# (the slowest deliveries seen at saturation took a few seconds; a screen that went deaf
# earlier than this before its stop loses the tickets placed since, and fails the check)

COUNT_ORDERS = "SELECT count(*) FROM orders WHERE restaurant_id = ANY($1::text[])"
COUNT_OF = "SELECT count(*) FROM orders WHERE id = ANY($1::text[])"
ORDERS = "SELECT restaurant_id, id, no FROM orders WHERE restaurant_id = ANY($1::text[])"
KEYS = """
SELECT order_id, substr(note, 3) AS key FROM order_lines
WHERE restaurant_id = ANY($1::text[]) AND note LIKE 'k:%'
"""
PLACED = """
SELECT payload->'order'->>'id' AS id, count(*) AS n FROM events
WHERE type = 'order.placed' AND restaurant_id = ANY($1::text[])
GROUP BY 1
"""


@dataclass
class Outcome:
    accepted: int = 0
    in_postgres: int = 0
    waited_s: float = 0.0
    lost_in_postgres: list[str] = field(default_factory=list)
    unknown_in_postgres: list[str] = field(default_factory=list)
    unanswered_in_postgres: list[str] = field(default_factory=list)
    tap_made_two: list[str] = field(default_factory=list)
    placed_twice: list[str] = field(default_factory=list)
    ticket_no_twice: list[str] = field(default_factory=list)
    accepted_twice: list[str] = field(default_factory=list)
    tickets_expected: int = 0
    tickets_lost: list[str] = field(default_factory=list)
    tickets_twice: list[str] = field(default_factory=list)
    # placed shortly before a screen stopped, after the last position it read: on their way
    tickets_in_flight: list[str] = field(default_factory=list)
    served: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost_in_postgres or self.unknown_in_postgres or self.tap_made_two
                    or self.placed_twice
                    or self.ticket_no_twice or self.accepted_twice or self.tickets_lost
                    or self.tickets_twice)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok}
        for name, value in asdict(self).items():
            if isinstance(value, list):
                out[name] = len(value)
                if value:
                    out[f"{name}_sample"] = value[:SAMPLE]
            else:
                out[name] = value
        return out


def tally_tickets(out: Outcome, accepted: dict[str, dict[str, Any]],
                  seen_records: Iterable[dict[str, Any]], screens: Iterable[dict[str, Any]],
                  stops: Iterable[dict[str, Any]],
                  added: Iterable[dict[str, Any]] = ()) -> None:
    """Every accepted order's ticket on every kitchen screen that should show it (its
    stations', those 加菜 brought it to, and the pass), exactly once. A ticket a screen did
    not show counts as in flight, not lost, when the screen said it stopped (``stopped``
    records) before reading that far in the restaurant's log, less than ``IN_FLIGHT_MS``
    after the order was placed (or the dish added); a screen that stopped reading longer
    before the end still fails the check."""
    seen = Counter((rec["r"], rec["k"], rec["o"]) for rec in seen_records)
    watching = {(rec["r"], rec["k"]) for rec in screens}
    stopped: dict[tuple[str, str], tuple[tuple[int, int], int]] = {}
    for rec in stops:
        where, at = pos_key(rec["pos"]) if rec["pos"] else (0, 0), int(rec["ms"])
        before = stopped.get((rec["r"], rec["k"]))
        if before is not None:
            where, at = max(where, before[0]), max(at, before[1])
        stopped[(rec["r"], rec["k"])] = (where, at)
    later: dict[str, list[tuple[str, str]]] = {}  # order → (station, 加菜's position)
    for rec in added:
        later.setdefault(rec["o"], []).extend((st, rec["pos"]) for st in rec["st"])
    for oid, rec in accepted.items():
        tickets = [(screen, rec["pos"]) for screen in (*rec["st"], EXPO)]
        tickets += [(st, pos) for st, pos in later.get(oid, ()) if st not in rec["st"]]
        for screen, pos in dict(tickets).items():
            if (rec["r"], screen) not in watching:
                continue
            n = seen.get((rec["r"], screen, oid), 0)
            stop = stopped.get((rec["r"], screen))
            if n == 0 and stop is not None and pos and pos_key(pos) > stop[0] \
                    and pos_ms(pos) > stop[1] - IN_FLIGHT_MS:
                out.tickets_in_flight.append(f"{rec['r']}/{screen}/{oid}")
                continue
            out.tickets_expected += 1
            if n == 0:
                out.tickets_lost.append(f"{rec['r']}/{screen}/{oid}")
            elif n > 1:
                out.tickets_twice.append(f"{rec['r']}/{screen}/{oid}")


async def _wait_for_persist(conn: Any, restaurants: list[str], accepted: list[str],
                            wait_s: float) -> tuple[int, float]:
    """Wait until PostgreSQL holds every accepted order and its count of orders has held
    still for two polls (or ``wait_s`` passed); the count. Counting the accepted orders
    themselves matters: orders placed but never seen answered count too, so a total could
    reach the number accepted while the persist worker, behind after a saturated run, has
    yet to write some of them."""
    started = time.monotonic()
    last, still = -1, 0
    while True:
        n = int(await conn.fetchval(COUNT_ORDERS, restaurants))
        elapsed = time.monotonic() - started
        still = still + 1 if n == last else 0
        if still >= 2 and int(await conn.fetchval(COUNT_OF, accepted)) >= len(accepted):
            return n, elapsed
        if elapsed >= wait_s:
            return n, elapsed
        last = n
        await asyncio.sleep(1.0)


async def check(run_dir: Path, database_url: str, plan: Plan, wait_s: float = 120.0) -> Outcome:
    out = Outcome()
    accepted: dict[str, dict[str, Any]] = {}
    for rec in ledger.read(run_dir, "accepted"):
        if rec["o"] in accepted:
            out.accepted_twice.append(rec["o"])
        accepted[rec["o"]] = rec
    out.accepted = len(accepted)
    restaurants = [r["id"] for r in plan.restaurants]
    conn = await asyncpg.connect(database_url)
    try:
        out.in_postgres, out.waited_s = await _wait_for_persist(conn, restaurants,
                                                                list(accepted), wait_s)
        rows = await conn.fetch(ORDERS, restaurants)
        placed = await conn.fetch(PLACED, restaurants)
        keyed = await conn.fetch(KEYS, restaurants)
    finally:
        await conn.close()
    stored = {row["id"] for row in rows}
    out.lost_in_postgres = sorted(set(accepted) - stored)
    # which tap (Idempotency-Key, carried in a dish note) made each stored order
    key_of = {row["order_id"]: row["key"] for row in keyed}
    sent = {rec["k"] for rec in ledger.read(run_dir, "sent")}
    orders_of_key = Counter(key_of.values())
    out.tap_made_two = sorted(k for k, n in orders_of_key.items() if n > 1)
    for oid in sorted(stored - set(accepted)):
        if key_of.get(oid) in sent:
            out.unanswered_in_postgres.append(oid)  # committed, answer not seen: in flight
        else:  # at the stop or a failed request (that fails the run by itself)
            out.unknown_in_postgres.append(oid)
    out.placed_twice = sorted(row["id"] for row in placed if row["n"] > 1)
    numbers = Counter((row["restaurant_id"], row["no"]) for row in rows)
    out.ticket_no_twice = sorted(f"{r}#{no}" for (r, no), n in numbers.items() if n > 1)
    tally_tickets(out, accepted, ledger.read(run_dir, "seen"), ledger.read(run_dir, "screen"),
                  ledger.read(run_dir, "stopped"), ledger.read(run_dir, "added"))
    out.served = len({rec["o"] for rec in ledger.read(run_dir, "served")})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--wait-s", type=float, default=120.0)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("check: DATABASE_URL is required", file=sys.stderr)
        return 2
    outcome = asyncio.run(check(args.run_dir, url, Plan.load(args.plan), args.wait_s))
    print(json.dumps(outcome.summary(), indent=1))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
