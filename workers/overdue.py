"""overdue: the automatic 催菜.

Every few seconds the scanner reads the open-order index of every restaurant
(``k:{R}:open``, many restaurants a trip), which says when a dish of each open order turns
overdue; only orders with a dish due are read. For each queued or cooking dish past its target
time and not flagged yet, it commits through the store's atomic step: the line gets
``overdue=True`` and a :class:`DishOverdue` event is appended (the kitchen screen highlights
the dish, the diner's page says the kitchen was reminded). The decision is taken on the order
as read and committed only if the order is still unchanged (the store's guards; otherwise it
is read and decided again), so two scanners, or a scan racing a cook who just finished the
dish, never flag a dish twice or flag a finished one. A scan costs a trip per
``INDEX_CHUNK`` restaurants plus one commit per order due, however many orders the day has
seen.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kitchen import dishflow, keys
from kitchen.errors import KitchenError
from kitchen.events import DishOverdue, now_ms
from kitchen.store import Reads, State, Store, Tx
from workers.metrics import Metrics
from workers.runner import text

if TYPE_CHECKING:
    from workers.app import Context, Role

log = logging.getLogger(__name__)
INDEX_CHUNK = 200  # restaurants whose open-order index one trip reads
MARK = keys.OPEN_MARK.encode()


class OverdueScanner:
    def __init__(self, redis: aioredis.Redis, store: Store, every_s: float = 5.0,
                 metrics: Metrics | None = None) -> None:
        self.redis = redis
        self.store = store
        self.every_s = every_s
        self.metrics = metrics or Metrics()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.scan_all()
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("overdue scan: redis unavailable (%s)", exc)
            try:
                await asyncio.wait_for(self._stopping.wait(), self.every_s)
            except TimeoutError:
                pass

    async def scan_all(self, now: int | None = None) -> int:
        """Scan every restaurant; the number of dishes flagged."""
        at = now_ms() if now is None else now
        rids = sorted(text(m) for m in await self.redis.smembers(keys.RESTAURANTS))
        flagged = 0
        for first in range(0, len(rids), INDEX_CHUNK):
            chunk = rids[first:first + INDEX_CHUNK]
            pipe = self.redis.pipeline(transaction=False)
            for rid in chunk:
                pipe.hgetall(keys.open_orders(rid))
            for rid, index in zip(chunk, await pipe.execute(), strict=True):
                if self._stopping.is_set():
                    return flagged
                if MARK not in index:  # not indexed yet: reading its open orders indexes it
                    flagged += len(await self.scan(rid, at))
                    continue
                due = [oid.decode() for oid, when in index.items()
                       if oid != MARK and 0 < int(when) <= at]
                flagged += len(await self._flag_all(rid, due, at))
        return flagged

    async def scan(self, restaurant_id: str, now: int | None = None) -> list[tuple[str, str]]:
        """Flag the overdue dishes of one restaurant; the (order id, line id) flagged."""
        at = now_ms() if now is None else now
        due = [o.id for o in await self.store.open_orders(restaurant_id)
               if dishflow.overdue_lines(o, at)]
        return await self._flag_all(restaurant_id, due, at)

    async def _flag_all(self, restaurant_id: str, order_ids: list[str], now: int
                        ) -> list[tuple[str, str]]:
        flagged: list[tuple[str, str]] = []
        for order_id in order_ids:
            try:
                flagged += [(order_id, line_id)
                            for line_id in await self.flag(restaurant_id, order_id, now)]
            except KitchenError as exc:
                log.warning("overdue: cannot flag %s: %s", order_id, exc)
        if flagged:
            self.metrics.inc("worker_overdue_flagged_total", len(flagged),
                             restaurant=restaurant_id)
        return flagged

    async def flag(self, restaurant_id: str, order_id: str, now: int) -> tuple[str, ...]:
        """Flag the dishes of one order still overdue; the lines this call flagged."""

        def decide(state: State) -> Tx:
            tx = Tx(state)
            order = state.orders.get(order_id)
            if order is None:  # indexed, yet gone: drop the entry
                tx.writes[(keys.open_orders(restaurant_id), order_id)] = None
                tx.response = ()
                return tx
            lines = dishflow.overdue_lines(order, now)
            for line_id in lines:
                order = dishflow.mark_overdue(order, line_id)
            # with nothing due, this rewrites the order unchanged and corrects its index entry
            tx.put_order(order)
            for line_id in lines:
                tx.emit(DishOverdue(restaurant_id, order=order, line_id=line_id, ts=now))
            tx.response = lines
            return tx

        done = await self.store.run(restaurant_id, Reads(orders=[order_id]), decide)
        return tuple(done.response)


def roles(ctx: Context) -> list[Role]:
    store = Store(ctx.redis, maxlen=ctx.settings.stream_maxlen,
                  idempotency_ttl=ctx.settings.idempotency_ttl)
    return [OverdueScanner(ctx.redis, store, ctx.config.overdue_every_s, ctx.metrics)]
