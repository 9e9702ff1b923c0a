"""A fixed-window rate limit counted in Redis (INCR + EXPIRE in the restaurant's hash slot).

The window arithmetic is pure (:class:`Window`); :func:`count` is the one Redis round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio.client import Pipeline

from kitchen import keys
from kitchen.batching import Batcher
from kitchen.errors import RateLimited
from kitchen.frozen import quick_init


@quick_init
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


@quick_init
@dataclass(frozen=True)
class Counter:
    """One rate limit to count: ``scope`` within ``window``, refused as too many ``what``."""

    scope: str
    window: Window
    what: str
    now_s: float

    def key(self, restaurant_id: str) -> str:
        """This window's counter (in the restaurant's hash slot)."""
        return keys.rate(restaurant_id, f"{self.scope}:{self.window.bucket(self.now_s)}")

    @property
    def ttl(self) -> int:
        """Seconds the counter is kept: a little past its window."""
        return self.window.seconds + 1

    def check(self, count: int) -> None:
        """RateLimited when ``count`` (this hit included) is over the limit."""
        self.window.check(count, self.now_s, self.what)


async def count(batch: Batcher, restaurant_id: str, counter: Counter) -> None:
    """Count one hit now, in a trip shared with other requests (INCR then EXPIRE; no MULTI
    needed for a counter); RateLimited past the limit. The same counting runs inside Redis
    for gated commands (:mod:`api.gate`)."""
    key = counter.key(restaurant_id)

    def build(pipe: Pipeline) -> None:
        pipe.incr(key)
        pipe.expire(key, counter.ttl)

    hits, _ = await batch.run(build)
    counter.check(int(hits))
