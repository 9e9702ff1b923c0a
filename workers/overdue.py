"""overdue: the automatic 催菜.

Every few seconds the scanner reads each restaurant's live orders (``k:{R}:orders``) and, for
each queued or cooking dish past its target time and not flagged yet, commits through the
store's atomic step: the line gets ``overdue=True`` and a :class:`DishOverdue` event is
appended (the kitchen screen highlights the dish, the diner's page says the kitchen was
reminded). The decision is taken on the order as read and committed only if the order is still
unchanged (the store's guards; otherwise it is read and decided again), so two scanners, or a
scan racing a cook who just finished the dish, never flag a dish twice or flag a finished one.
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
        flagged = 0
        for rid in sorted(text(m) for m in await self.redis.smembers(keys.RESTAURANTS)):
            if self._stopping.is_set():
                break
            flagged += len(await self.scan(rid, now))
        return flagged

    async def scan(self, restaurant_id: str, now: int | None = None) -> list[tuple[str, str]]:
        """Flag the overdue dishes of one restaurant; the (order id, line id) flagged."""
        at = now_ms() if now is None else now
        flagged: list[tuple[str, str]] = []
        for order in await self.store.orders(restaurant_id):
            for line_id in dishflow.overdue_lines(order, at):
                try:
                    if await self.flag(restaurant_id, order.id, line_id, at):
                        flagged.append((order.id, line_id))
                except KitchenError as exc:
                    log.warning("overdue: cannot flag %s/%s: %s", order.id, line_id, exc)
        if flagged:
            self.metrics.inc("worker_overdue_flagged_total", len(flagged),
                             restaurant=restaurant_id)
        return flagged

    async def flag(self, restaurant_id: str, order_id: str, line_id: str, now: int) -> bool:
        """Flag one dish if it is still overdue; True if this call appended the event."""

        def decide(state: State) -> Tx:
            tx = Tx(state)
            order = state.order(order_id)
            if line_id in dishflow.overdue_lines(order, now):
                marked = dishflow.mark_overdue(order, line_id)
                tx.put_order(marked)
                tx.emit(DishOverdue(restaurant_id, order=marked, line_id=line_id, ts=now))
            tx.response = {"flagged": bool(tx.events)}
            return tx

        done = await self.store.run(restaurant_id, Reads(orders=[order_id]), decide)
        return bool(done.events)


def roles(ctx: Context) -> list[Role]:
    store = Store(ctx.redis, maxlen=ctx.settings.stream_maxlen,
                  idempotency_ttl=ctx.settings.idempotency_ttl)
    return [OverdueScanner(ctx.redis, store, ctx.config.overdue_every_s, ctx.metrics)]
