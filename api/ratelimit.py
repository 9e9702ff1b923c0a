"""A fixed-window rate limit counted in Redis (INCR + EXPIRE in the restaurant's hash slot).

The window arithmetic is pure (:class:`Window`); :func:`hit` is the one Redis round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from kitchen import keys
from kitchen.batching import Batcher
from kitchen.errors import RateLimited


@dataclass(frozen=True)
class Window:
    """At most ``limit`` hits per ``seconds``-long window, windows aligned to the epoch."""

    limit: int
    seconds: int

    def bucket(self, now_s: float) -> int:
        return int(now_s // self.seconds)

    def retry_after_ms(self, now_s: float) -> int:
        """Milliseconds until the current window ends."""
        end = (self.bucket(now_s) + 1) * self.seconds
        return max(1, int((end - now_s) * 1000))

    def check(self, count: int, now_s: float, what: str) -> None:
        """Raise RateLimited when ``count`` (this hit included) is over the limit."""
        if count > self.limit:
            wait = self.retry_after_ms(now_s)
            raise RateLimited(
                f"too many {what}: at most {self.limit} per {self.seconds} s; "
                f"try again in {wait // 1000 + 1} s",
                retry_after_ms=wait, limit=self.limit, window_s=self.seconds)


@dataclass(frozen=True)
class Counter:
    """One rate limit to count: ``scope`` within ``window``, refused as too many ``what``."""

    scope: str
    window: Window
    what: str
    now_s: float


async def hit(redis: Redis | Batcher, restaurant_id: str, scope: str, window: Window,
              now_s: float, what: str) -> None:
    """Count one hit of ``scope`` in the current window; RateLimited past the limit.
    Given the store's :class:`~kitchen.batching.Batcher`, the trip is shared with other
    requests (INCR then EXPIRE in one pipeline; no MULTI needed for a counter)."""
    key = keys.rate(restaurant_id, f"{scope}:{window.bucket(now_s)}")

    def build(pipe: Pipeline) -> None:
        pipe.incr(key)
        pipe.expire(key, window.seconds + 1)

    if isinstance(redis, Batcher):
        count, _ = await redis.run(build)
    else:
        pipe = redis.pipeline(transaction=True)
        build(pipe)
        count, _ = await pipe.execute()
    window.check(int(count), now_s, what)


async def count(redis: Redis | Batcher, restaurant_id: str, counter: Counter) -> None:
    """:func:`hit` for a :class:`~api.gate.Counter`."""
    await hit(redis, restaurant_id, counter.scope, counter.window, counter.now_s, counter.what)
