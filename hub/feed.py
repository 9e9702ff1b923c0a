"""Reads every restaurant's log and keeps a window per restaurant.

Each hub process reads the streams itself (no consumer group: every hub needs every event).
While the news subscription (:mod:`kitchen.news`) is live, it reads the logs hinted since the
last read, and every log once each ``SWEEP_S`` (what no hint announced); otherwise one
blocking XREAD over every log, on a connection of its own whose socket timeout exceeds the
BLOCK time. A second connection discovers new restaurants and refreshes epochs and revoked
token ids.

After the feed could not read for a while (Redis away, or this hub cut off from it), a log
may have been trimmed past what the hub had read: XREAD would carry on from the oldest entry
left, silently. So after every failed read each log is checked once: when the last entry the
hub read is gone, the log moved on by more than it keeps while the hub was away, and the
window starts again (every screen on it reloads).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from hub.metrics import Metrics
from hub.protocol import parse_pos
from hub.tail import Raw, Tail, field, pack
from hub.window import ZERO, Entry, Window
from kitchen import keys, redisclient
from kitchen.errors import CodecError
from kitchen.news import Backoff, Hints, News

log = logging.getLogger("hub.feed")

BLOCK_MS = 1000
READ_COUNT = 1000
PACE_S = 0.004
REFRESH_S = 1.0
SWEEP_S = 1.0  # with hints: every log is read at least this often anyway

OnEvents = Callable[[list[Entry]], None]
OnReset = Callable[[str, Window], None]
OnRevoked = Callable[[str, set[str]], None]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Feed:
    def __init__(self, redis_url: str, window_size: int, metrics: Metrics, *,
                 on_events: OnEvents, on_reset: OnReset, on_revoked: OnRevoked,
                 news: bool = True) -> None:
        self.window_size = window_size
        self.metrics = metrics
        self.on_events = on_events
        self.on_reset = on_reset
        self.on_revoked = on_revoked
        self.windows: dict[str, Window] = {}
        self.revoked: dict[str, frozenset[str]] = {}
        self.ready = asyncio.Event()
        self.redis = redisclient.connect(redis_url, socket_timeout=5)
        self.tail = Tail(redis_url, block_ms=BLOCK_MS, count=READ_COUNT)
        self.control = Raw(redis_url, socket_timeout=10)
        self._refresh: tuple[tuple[str, ...], bytes] = (("-",), b"")  # (restaurants, command)
        self._keys: dict[str, bytes] = {}
        self._loading: dict[str, asyncio.Future[Window]] = {}
        self._advanced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.news = News(redis_url, enabled=news)  # without it: the blocking read
        self.hints = Hints(self.news, SWEEP_S, lambda key: key in self.tail.ids)

    async def start(self) -> None:
        await self.refresh()
        self.ready.set()
        self._tasks = [asyncio.create_task(self._read_loop(), name="hub-feed-read"),
                       asyncio.create_task(self._refresh_loop(), name="hub-feed-refresh"),
                       asyncio.create_task(self.news.run(lambda: self._stopping),
                                           name="hub-feed-news")]

    async def stop(self) -> None:
        self._stopping = True  # redis-py can swallow a cancellation: the loops check this too
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.tail.close()
        await self.control.close()
        await self.redis.aclose()

    # ------------------------------------------------------------------ windows

    async def ensure(self, restaurant_id: str) -> Window:
        """The restaurant's window, loading it from its stream the first time."""
        window = self.windows.get(restaurant_id)
        if window is not None:
            return window
        pending = self._loading.get(restaurant_id)
        if pending is None:
            pending = asyncio.ensure_future(self._load(restaurant_id))
            self._loading[restaurant_id] = pending
            pending.add_done_callback(lambda _: self._loading.pop(restaurant_id, None))
        return await asyncio.shield(pending)

    async def _load(self, restaurant_id: str, install: bool = True) -> Window:
        pipe = self.redis.pipeline(transaction=True)
        pipe.get(keys.epoch(restaurant_id))
        pipe.xrevrange(keys.log(restaurant_id), count=self.window_size + 1)
        pipe.xinfo_stream(keys.log(restaurant_id))
        pipe.smembers(keys.revoked(restaurant_id))
        epoch, newest, info, revoked = await pipe.execute(raise_on_error=False)
        if isinstance(epoch, Exception) or isinstance(newest, Exception):
            raise epoch if isinstance(epoch, Exception) else newest
        entries = [e for e in (self._entry(pos, fields.get(keys.STREAM_FIELD))
                               for pos, fields in reversed(newest)) if e]
        window = Window(self.window_size, "" if epoch is None else _text(epoch),
                        self._floor(newest, info))
        window.fill(e for e in entries if e.key > window.floor)
        if newest:  # the newest entry counts as read even if it did not decode
            window.advance(parse_pos(_text(newest[0][0])))
        if not isinstance(revoked, Exception):
            self.revoked[restaurant_id] = frozenset(_text(j) for j in revoked)
        if install:
            self._install(restaurant_id, window)
        return window

    def _install(self, restaurant_id: str, window: Window) -> None:
        self.windows[restaurant_id] = window
        self.tail.follow(self._key(restaurant_id), window.last_pos)

    def _floor(self, newest: list[Any], info: Any) -> tuple[int, int]:
        """Position before which the stream can no longer tell what happened."""
        if len(newest) > self.window_size:
            return parse_pos(_text(newest[-1][0]))
        if isinstance(info, Exception) or not newest:
            return ZERO
        if int(info.get("entries-added", 0)) <= int(info.get("length", 0)):
            return ZERO  # nothing was ever trimmed or deleted
        return parse_pos(_text(newest[-1][0]))

    def _entry(self, pos: Any, raw: bytes | None) -> Entry | None:
        try:
            if raw is None:
                raise CodecError("stream entry without an event field")
            return Entry.of(_text(pos), raw)
        except CodecError as exc:
            self.metrics.undecodable += 1
            log.warning("skipping stream entry %s: %s", _text(pos), exc)
            return None

    # ------------------------------------------------------------------ waiting

    async def reach(self, restaurant_id: str, key: tuple[int, int], within: float) -> bool:
        """Wait until the window has read up to ``key`` (a client of a faster hub)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (window := self.windows.get(restaurant_id)) is not None and window.last < key:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    await self._advanced.wait()
            except TimeoutError:
                return False
        return window is not None

    async def catch_up(self, restaurant_id: str, within: float) -> bool:
        """Read the restaurant's log at once, up to its newest entry now, waiting at most
        ``within`` seconds."""
        newest = await self.redis.xrevrange(keys.log(restaurant_id), count=1)
        if not newest:
            return restaurant_id in self.windows
        self.hints.again([self._key(restaurant_id)])
        return await self.reach(restaurant_id, parse_pos(_text(newest[0][0])), within)

    # ------------------------------------------------------------------ loops

    async def _read_loop(self) -> None:
        backoff = Backoff(log)
        check_holes = False
        while not self._stopping:
            if not self.windows:
                await asyncio.sleep(0.1)
                continue
            try:
                if check_holes:
                    await self.check_holes()
                    check_holes = False
                full = await self._read()
            except (RedisError, OSError) as exc:
                check_holes = True
                await backoff.wait("stream read", exc)
                continue
            backoff.reset()
            if not full:
                # Let a few milliseconds of events gather: one read and one write per
                # connection then carry several events, for a few ms of latency.
                await asyncio.sleep(PACE_S)

    async def _read(self) -> bool:
        """One read: the hinted logs, every log when a sweep is due, or (no live hints) a
        blocking read of every log. True when a log gave a full count (more waits)."""
        if not self.hints.live:
            return self._take(await self.tail.read()) >= READ_COUNT
        hinted = await self.hints.next()
        reply = await self.tail.read(self.tail.ids if hinted is None else hinted)
        self._take(reply)
        full = [stream for stream, items in reply if len(items) >= READ_COUNT]
        self.hints.again(full)
        return bool(full)

    def _key(self, restaurant_id: str) -> bytes:
        key = self._keys.get(restaurant_id)
        if key is None:
            key = self._keys[restaurant_id] = keys.log(restaurant_id).encode()
        return key

    def _take(self, reply: list[Any]) -> int:
        """Add what XREAD returned to the windows and deliver it; return how many entries."""
        fresh: list[Entry] = []
        taken = 0
        for stream, items in reply:
            window = self.windows.get(keys.restaurant_of_log(stream))
            if window is None:
                continue
            taken += len(items)
            for pos, fields in items:
                entry = self._entry(pos, field(fields, keys.STREAM_FIELD))
                if entry is None:
                    window.advance(parse_pos(_text(pos)))
                elif window.append(entry):
                    fresh.append(entry)
            self.tail.follow(stream, window.last_pos)
        self.metrics.events += len(fresh)
        if fresh:
            try:
                self.on_events(fresh)
            except Exception:  # a fan-out bug must not stop the reading of the log
                log.exception("delivering %d events failed", len(fresh))
            for entry in fresh:
                entry.settle()
        self._advanced.set()
        self._advanced = asyncio.Event()
        return taken

    async def _refresh_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(REFRESH_S)
            try:
                await self.refresh()
            except (RedisError, OSError) as exc:
                log.warning("refresh failed: %s", exc)

    async def refresh(self) -> None:
        """Find new restaurants; notice changed epochs and revoked tokens (one round trip)."""
        known = tuple(self.windows)
        if self._refresh[0] != known:
            self._refresh = (known, b"".join([pack(b"SMEMBERS", keys.RESTAURANTS.encode()), *(
                pack(b"GET", keys.epoch(r).encode()) + pack(b"SMEMBERS", keys.revoked(r).encode())
                for r in known)]))
        members, *rest = await self.control.call(self._refresh[1], 1 + 2 * len(known), 10)
        for r, epoch, revoked in zip(known, rest[::2], rest[1::2], strict=True):
            window = self.windows.get(r)
            if window is not None and window.epoch != ("" if epoch is None else _text(epoch)):
                await self._reset(r, window)
            jtis = frozenset(_text(j) for j in revoked)
            if jtis != self.revoked.get(r, frozenset()):
                added = set(jtis - self.revoked.get(r, frozenset()))
                self.revoked[r] = jtis
                if added:
                    self.on_revoked(r, added)
        for r in sorted(_text(m) for m in members):
            if r not in self.windows:
                await self.ensure(r)

    async def check_holes(self) -> list[str]:
        """Start again the window of every log trimmed past what this hub read (events it
        will never see); the restaurants whose windows started again."""
        read = {r: w.last_pos for r, w in self.windows.items() if w.last > ZERO}
        pipe = self.redis.pipeline(transaction=False)
        for r, pos in read.items():
            pipe.xrange(keys.log(r), pos, pos, count=1)
        holed = []
        for (r, pos), found in zip(read.items(), await pipe.execute(), strict=True):
            window = self.windows.get(r)
            if window is not None and window.last_pos == pos and not found:
                holed.append(r)
                await self._reset(r, window, "its log was trimmed past what this hub had read")
        return holed

    async def _reset(self, restaurant_id: str, window: Window,
                     why: str = "its epoch changed") -> None:
        """The log was rebuilt (its epoch changed), or has a hole: reload its window, tell
        the hub."""
        fresh = await self._load(restaurant_id, install=False)
        log.warning("%s: %s (epoch %r → %r); window reloaded",
                    restaurant_id, why, window.epoch, fresh.epoch)
        self._install(restaurant_id, fresh)
        self.on_reset(restaurant_id, fresh)
