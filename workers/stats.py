"""stats: roll-ups the merchant dashboard reads (see :mod:`workers.rollup` for definitions).

Each batch is one transaction: the event ids are first recorded in ``stats_processed``; only
the events recorded for the first time are added to the roll-ups. A redelivered batch finds
its ids recorded and adds nothing, so every event is counted exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from kitchen import events as ev
from kitchen.db import Queries
from workers.logged import decode_all
from workers.rollup import DISH_FIELDS, HOUR_FIELDS, Rollup, rollup
from workers.runner import Entry

GROUP = "stats"
COUNTED = (ev.OrderPlaced, ev.LinesAdded, ev.DishReturned, ev.DishStatusChanged, ev.DishUrged,
           ev.DishOverdue, ev.TableOpened)
KEEP_PROCESSED_DAYS = 7
PRUNE_EVERY_S = 3_600.0


class Rows:
    """A batch's roll-ups as the rows of ``stats_add_batch``, every restaurant's in turn."""

    def __init__(self) -> None:
        self.hours: list[tuple[Any, ...]] = []
        self.dishes: list[tuple[Any, ...]] = []
        self.samples: list[tuple[Any, ...]] = []

    def __bool__(self) -> bool:
        return bool(self.hours or self.dishes or self.samples)

    def add(self, rid: str, roll: Rollup) -> None:
        # rows in a stable order, so that concurrent consumers lock them in the same order
        self.hours += [(rid, h, *(d[f] for f in HOUR_FIELDS))
                       for h, d in sorted(roll.hours.items())]
        self.dishes += [(rid, h, dish, *(d[f] for f in DISH_FIELDS))
                        for (h, dish), d in sorted(roll.dishes.items())]
        self.samples += [(rid, s.order_id, s.line_id, s.dish_id, s.station_id, s.qty,
                          s.ready_at, s.seconds) for _, s in sorted(roll.samples.items())]


class StatsRoller:
    """The stats role's handler."""

    def __init__(self, pool: asyncpg.Pool[Any], queries: Queries | None = None) -> None:
        self.pool = pool
        self.q = queries or Queries.load()
        self._next_prune = 0.0

    async def handle(self, entries: Sequence[Entry]) -> None:
        items = [i for i in decode_all(entries) if isinstance(i.event, COUNTED)]
        if not items:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = {r["event_id"] for r in await conn.fetch(
                self.q["stats_mark_processed"], [i.event.id for i in items],
                [i.event.restaurant_id for i in items], [i.event.ts for i in items])}
            by_restaurant: dict[str, list[ev.Event]] = {}
            for item in items:
                if item.event.id in fresh:
                    by_restaurant.setdefault(item.event.restaurant_id, []).append(item.event)
            rows = Rows()
            for rid in sorted(by_restaurant):
                rows.add(rid, rollup(by_restaurant[rid]))
            if rows:
                await conn.execute(self.q["stats_add_batch"], rows.hours, rows.dishes,
                                   rows.samples)
        await self._prune_if_due()

    async def _prune_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY_S
        await self.pool.execute(self.q["stats_prune_processed"], KEEP_PROCESSED_DAYS)
