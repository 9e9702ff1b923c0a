"""Hints of new events: the log key of every commit that appended some, on ``k:news``.

The commit script publishes them (``kitchen/lua/commit.lua``), so the hub and the workers can
read only the logs that moved instead of blocking on every restaurant's log at once: an
``XREAD`` over a thousand streams costs Redis a millisecond even when one moved. A hint is
only a hint — pub/sub loses what is published while the connection is down, and not every
writer publishes — so a reader still reads every log now and then, and falls back to its
blocking read of all of them whenever this connection is not subscribed.

One connection per process, RESP2 (messages are plain arrays), parsed by hiredis; every
listener of the process hears every hint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

import hiredis
from redis.asyncio.connection import parse_url

from kitchen import keys
from kitchen.batching import pack

log = logging.getLogger("kitchen.news")

OnKey = Callable[[bytes], None]
OnLive = Callable[[bool], None]


class Backoff:
    """Retry waits that double, from ``first`` up to ``most``, until a success resets them."""

    def __init__(self, log: logging.Logger, first: float = 0.1, most: float = 2.0) -> None:
        self.log, self.first, self.most = log, first, most
        self.next = first

    async def wait(self, what: str, exc: BaseException) -> None:
        self.log.warning("%s failed, retrying in %.1fs: %s", what, self.next, exc)
        await asyncio.sleep(self.next)
        self.next = min(self.next * 2, self.most)

    def reset(self) -> None:
        self.next = self.first


_MORE = object()  # hiredis: no whole reply buffered yet


class _Subscriber(asyncio.Protocol):
    def __init__(self, hello: bytes, on_key: OnKey, on_live: OnLive) -> None:
        self.hello = hello
        self.on_key = on_key
        self.on_live = on_live
        self.reader = hiredis.Reader(notEnoughData=_MORE)
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.hello)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not _MORE:
                self._take(reply)
        except hiredis.ProtocolError as exc:
            self._end(exc)

    def _take(self, reply: Any) -> None:
        if isinstance(reply, hiredis.ReplyError):  # AUTH refused, say
            self._end(reply)
        elif isinstance(reply, list) and reply and reply[0] == b"message":
            self.on_key(reply[2])
        elif isinstance(reply, list) and reply and reply[0] == b"subscribe":
            self.on_live(True)

    def _end(self, why: Exception) -> None:
        log.warning("news connection ended: %s", why)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_live(False)
        if not self.closed.done():
            self.closed.set_result(None)


class News:
    """Keeps a subscription to ``k:news`` open (``run``); ``live`` while it is. Enabled only
    for plain ``redis://`` URLs (TLS and socket URLs: never live)."""

    def __init__(self, redis_url: str, enabled: bool = True) -> None:
        self.enabled = enabled and redis_url.startswith("redis://")
        kw: dict[str, Any] = dict(parse_url(redis_url))
        self.host, self.port = kw.get("host", "localhost"), int(kw.get("port", 6379))
        password, user = kw.get("password"), kw.get("username")
        auth = [pack(("AUTH", *([user] if user else []), password))] if password else []
        self.hello = b"".join([*auth, pack(("SUBSCRIBE", keys.NEWS))])
        self.listeners: list[tuple[OnKey, OnLive]] = []
        self.live = False
        self.subscriptions = 0  # times it became live

    def listen(self, on_key: OnKey, on_live: OnLive) -> None:
        """Hear every hinted log key, and every change of ``live``."""
        self.listeners.append((on_key, on_live))

    def _key(self, key: bytes) -> None:
        for on_key, _ in self.listeners:
            on_key(key)

    def _live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            self.subscriptions += live
            log.info("news subscription %s", "live" if live else "lost: reading every log")
            for _, on_live in self.listeners:
                on_live(live)

    async def run(self, stopping: Callable[[], bool]) -> None:
        """Subscribe, and subscribe again whenever the connection is lost."""
        if not self.enabled:
            return
        loop = asyncio.get_running_loop()
        backoff = Backoff(log)
        while not stopping():
            try:
                _, sub = await asyncio.wait_for(loop.create_connection(
                    lambda: _Subscriber(self.hello, self._key, self._live),
                    self.host, self.port), 5)
            except (OSError, TimeoutError) as exc:
                await backoff.wait("connecting for news", exc)
                continue
            backoff.reset()
            try:
                await sub.closed
            finally:
                if sub.transport is not None:
                    sub.transport.close()
                self._live(False)


class Hints:
    """What one reader takes from the news: the logs hinted since its last read, and when it
    must read every log again (each ``sweep_s``, and at once when the subscription is lost
    or regained). ``follows`` says which log keys the reader reads at all."""

    def __init__(self, news: News, sweep_s: float, follows: Callable[[bytes], bool]) -> None:
        self.news = news
        self.sweep_s = sweep_s
        self.follows = follows
        self._keys: set[bytes] = set()
        self._event = asyncio.Event()
        self._sweep_at = 0.0  # time.monotonic() of the next read of every log
        news.listen(self._hinted, self._live)

    @property
    def live(self) -> bool:
        """While false, the reader reads every log in its blocking read instead."""
        return self.news.live

    @property
    def next_sweep(self) -> float:
        """``time.monotonic()`` of the next read of every log (0: at the next read)."""
        return self._sweep_at

    def _hinted(self, key: bytes) -> None:
        if self.follows(key):
            self._keys.add(key)
            self._event.set()

    def _live(self, live: bool) -> None:
        self._sweep_at = 0.0  # hints start (or stop): read every log once first
        self._event.set()

    async def next(self, most: float = math.inf) -> set[bytes] | None:
        """The logs to read now: those hinted since the last call, or None for every log (a
        sweep is due). Waits for a hint or the sweep, at most ``most`` seconds (then the
        empty set)."""
        now = time.monotonic()
        if now < self._sweep_at and not self._keys:
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), min(self._sweep_at - now, most))
            now = time.monotonic()
        if now >= self._sweep_at:
            self._sweep_at = now + self.sweep_s
            self._keys.clear()
            return None
        taken, self._keys = self._keys, set()
        return taken

    def again(self, keys: Iterable[bytes]) -> None:
        """Read these at once next time (a read that gave a full count: more waits)."""
        self._keys.update(keys)
        if self._keys:
            self._event.set()
