"""dayclose: a new day for every restaurant's live state.

The live state holds the orders of the day (``k:{R}:orders``) and the last ticket number of
the day (``k:{R}:seq``). Once a day, at ``WORKER_DAY_CLOSE_AT`` local time (``KITCHEN_TZ``;
04:00 by default, when the restaurants are closed), and on demand
(``python -m workers close-day [RESTAURANT ...]``), each restaurant's day is closed:

* orders placed before local midnight leave the live state once nothing of them is left to
  cook or serve and their table's session is over (PostgreSQL keeps them: the persist worker
  wrote them from their events); an order still open, or on a table still seated, stays;
* the ticket counter starts again at 1, unless an order was placed since midnight (its
  number goes on, so no number is given twice in a day).

It runs through the store's atomic step: it commits only if none of the orders it removes
and not the ticket counter changed since it read them (otherwise it reads and decides again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kitchen import codec, dishflow, keys
from kitchen.events import now_ms
from kitchen.model import Order, TableStatus
from kitchen.store import Reads, State, Store, Tx
from workers.rebuild import midnight_ms
from workers.runner import text

if TYPE_CHECKING:
    from workers.app import Context, Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Closed:
    restaurant_id: str
    removed: int  # orders of earlier days taken out of the live state
    kept: int  # orders of earlier days still open or on a seated table
    counter_reset: bool

    def describe(self) -> str:
        reset = "ticket numbers start at 1" if self.counter_reset else \
            "ticket numbers go on (orders placed since midnight)"
        return (f"closed the day of {self.restaurant_id}: {self.removed} earlier orders "
                f"removed, {self.kept} kept; {reset}")


async def close_day(store: Store, restaurant_id: str, tz: str, now: int | None = None
                    ) -> Closed:
    r = restaurant_id
    midnight = midnight_ms(now_ms() if now is None else now, tz)
    pipe = store.redis.pipeline(transaction=True)  # the orders and the counter as of one moment
    pipe.hgetall(keys.orders(r))
    pipe.get(keys.seq(r))
    raw_orders, raw_seq = await pipe.execute()
    seq_then = int(raw_seq or 0)
    orders = [Order.from_dict(codec.unpack(v)) for v in raw_orders.values()]
    seated = {oid for t in await store.tables(r) if t.status != TableStatus.FREE
              for oid in t.order_ids}
    earlier = [o for o in orders if o.created_at < midnight]
    gone = [o.id for o in earlier if not dishflow.is_open(o) and o.id not in seated]
    placed_today = any(o.created_at >= midnight for o in orders)

    def decide(state: State) -> Tx:
        tx = Tx(state)
        removed = 0
        for oid in gone:
            order = state.orders.get(oid)
            if order is not None and not dishflow.is_open(order):
                tx.writes[(keys.orders(r), oid)] = None
                tx.writes[(keys.open_orders(r), oid)] = None
                removed += 1
        # an order placed since the counter was read makes the guard on it fail: decide again
        reset = not placed_today and state.seq == seq_then and state.seq > 0
        if reset:
            tx.put_seq(0)
        tx.response = [removed, reset]
        return tx

    done = await store.run(r, Reads(orders=gone, seq=True), decide)
    removed, reset = done.response
    return Closed(r, removed, len(earlier) - removed, bool(reset))


async def close_all(store: Store, tz: str, now: int | None = None,
                    only: Iterable[str] | None = None) -> tuple[list[Closed], dict[str, str]]:
    """Close the day of every restaurant (or of ``only`` these): the days closed, and the
    restaurants whose close failed, with why. One restaurant's trouble (an order that does
    not decode, a close that kept conflicting) never keeps the others open; Redis being
    unreachable stops the round (it raises)."""
    rids = sorted(only) if only is not None else sorted(
        text(m) for m in await store.redis.smembers(keys.RESTAURANTS))
    closed: list[Closed] = []
    failed: dict[str, str] = {}
    for rid in rids:
        try:
            closed.append(await close_day(store, rid, tz, now))
        except UNREACHABLE:
            raise
        except Exception as exc:
            log.exception("day close of %s failed", rid)
            failed[rid] = f"{type(exc).__name__}: {exc}"
    return closed, failed


def next_close(now: datetime, at: str) -> datetime:
    """The next local time ``at`` ("HH:MM") after ``now`` (aware)."""
    hour, minute = (int(part) for part in at.split(":"))
    due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return due if due > now else due + timedelta(days=1)


UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
RETRY_S = 60.0  # a close that failed is tried again this often ...
RETRY_FOR_S = 3 * 3600.0  # ... for this long after its time


class DayCloser:
    """The role: sleeps until the next close time, closes every restaurant's day, and tries
    again every minute, for up to three hours, the restaurants whose close failed (all of
    them while Redis is unreachable)."""

    def __init__(self, redis: aioredis.Redis, store: Store, tz: str, at: str) -> None:
        self.redis = redis
        self.store = store
        self.tz = tz
        self.at = at
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            now = datetime.now(ZoneInfo(self.tz))
            wait = (next_close(now, self.at) - now).total_seconds()
            try:
                await asyncio.wait_for(self._stopping.wait(), wait)
                return
            except TimeoutError:
                pass
            await self.close_until_done()

    async def close_until_done(self) -> None:
        """One day's close, tried again for what failed until it is done or too late."""
        give_up = time.monotonic() + RETRY_FOR_S
        left: set[str] | None = None  # None: every restaurant
        while True:
            try:
                closed, failed = await close_all(self.store, self.tz, only=left)
                log.info("closed the day of %d restaurants: %d earlier orders removed",
                         len(closed), sum(c.removed for c in closed))
                left = set(failed)
            except UNREACHABLE as exc:
                log.warning("day close: redis unavailable (%s)", exc)
            if left == set():
                return
            if time.monotonic() + RETRY_S > give_up:
                log.error("day close: gave up on %s until the next close at %s",
                          "every restaurant" if left is None else ", ".join(sorted(left)),
                          self.at)
                return
            try:
                await asyncio.wait_for(self._stopping.wait(), RETRY_S)
                return
            except TimeoutError:
                pass


def roles(ctx: Context) -> list[Role]:
    store = Store(ctx.redis, maxlen=ctx.settings.stream_maxlen,
                  idempotency_ttl=ctx.settings.idempotency_ttl)
    return [DayCloser(ctx.redis, store, ctx.config.tz, ctx.config.day_close_at)]
