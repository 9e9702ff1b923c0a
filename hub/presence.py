"""Which screens are online, shared by every hub through ``k:{R}:presence``.

Each hub writes its own screens (kitchen stations, expo, merchant devices; not diners' phones)
with a last-seen time, refreshes them every few seconds and removes them on disconnect.
Entries not refreshed for ``STALE_MS`` belong to a hub that died and are dropped by whichever
hub sees them. The merchant's board channel gets a presence frame only when the set changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hub.conn import Conn
from kitchen import codec, keys
from kitchen.errors import CodecError

log = logging.getLogger("hub.presence")

REFRESH_S = 5.0
STALE_MS = 20_000
SWEEP_EVERY = 6  # every sixth refresh reads every restaurant's entries to drop stale ones
SCREEN_ROLES = frozenset({"station", "expo", "merchant"})

Screen = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


def screen_of(conn: Conn) -> str:
    return conn.screen or f"{conn.claims.role}:{conn.claims.station}:{conn.id}"


class Presence:
    def __init__(self, redis: aioredis.Redis, hub_id: str,
                 watchers: Callable[[str], bool], publish: Callable[[str, list[Screen]], None]
                 ) -> None:
        self.redis = redis
        self.hub_id = hub_id
        self.watchers = watchers  # does anyone here watch board:R?
        self.publish = publish
        self.local: dict[str, dict[str, Conn]] = {}  # restaurant → screen → its newest conn
        self._older: dict[tuple[str, str], list[Conn]] = {}  # the same screen's other conns
        self.gone: dict[str, set[str]] = {}
        self.current: dict[str, list[Screen]] = {}
        self.watched: set[str] = set()
        self._fresh: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._drops: set[asyncio.Future[None]] = set()
        self._prefix: dict[str, bytes] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="hub-presence")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for r in list(self.local):
            self.gone.setdefault(r, set()).update(self.local[r])
        self.local.clear()
        try:
            await self.sync(set(self.gone))
        except (RedisError, OSError) as exc:
            log.warning("presence cleanup failed: %s", exc)

    def online(self, conn: Conn) -> None:
        if conn.claims.role not in SCREEN_ROLES:
            return
        for r in conn.claims.restaurants:
            mine = self.local.setdefault(r, {})
            screen = screen_of(conn)
            if (held := mine.get(screen)) is not None and held is not conn:
                self._older.setdefault((r, screen), []).append(held)
            mine[screen] = conn
            self.gone.get(r, set()).discard(screen)
            self._fresh.add(r)
        self._wake.set()

    def offline(self, conn: Conn) -> None:
        if conn.claims.role not in SCREEN_ROLES:
            return
        screen = screen_of(conn)
        self._prefix.pop(conn.id, None)
        for r in conn.claims.restaurants:
            mine = self.local.get(r, {})
            older = self._older.get((r, screen), [])
            if conn in older:
                older.remove(conn)
            elif mine.get(screen) is conn:
                if older:  # another device under the same name is still here
                    mine[screen] = older.pop()
                    self._fresh.add(r)
                else:
                    del mine[screen]
                    self.gone.setdefault(r, set()).add(screen)
            if not older:
                self._older.pop((r, screen), None)
        self._wake.set()

    def watch(self, restaurant_id: str) -> None:
        """A board of this restaurant is watched here: keep its presence current."""
        if restaurant_id not in self.watched:
            self.watched.add(restaurant_id)
            self._fresh.add(restaurant_id)
            self._wake.set()

    def info(self, conn: Conn, seen: int) -> Screen:
        c = conn.claims
        return {"role": c.role, "station": c.station, "name": c.name, "hub": self.hub_id,
                "seen": seen}

    def packed(self, conn: Conn, seen: int) -> bytes:
        """``codec.pack(self.info(conn, seen))``, built from a per-connection prefix."""
        prefix = self._prefix.get(conn.id)
        if prefix is None:
            info = self.info(conn, 0)
            del info["seen"]
            prefix = bytes([0x80 | (len(info) + 1)]) + b"".join(
                codec.pack(k) + codec.pack(v) for k, v in info.items()) + codec.pack("seen")
            self._prefix[conn.id] = prefix
        return prefix + codec.pack(seen)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_full, rounds = 0.0, 0
        while not self._stopping:
            try:
                async with asyncio.timeout(max(0.0, next_full - loop.time())):
                    await self._wake.wait()
                await asyncio.sleep(0.2)  # let a burst of connects settle into one write
            except TimeoutError:
                pass
            self._wake.clear()
            restaurants, self._fresh = self._fresh, set()
            scan = False
            if loop.time() >= next_full:  # refresh every screen; now and then sweep stale ones
                next_full, rounds = loop.time() + REFRESH_S, rounds + 1
                self.watched = {r for r in self.watched if self.watchers(r)}
                restaurants |= self.watched | {r for r, mine in self.local.items() if mine}
                scan = rounds % SWEEP_EVERY == 1
            try:
                await self.sync(restaurants | set(self.gone), scan=scan)
            except (RedisError, OSError) as exc:
                log.warning("presence refresh failed: %s", exc)

    async def sync(self, restaurants: set[str], *, scan: bool = True) -> None:
        """Write our screens and drop departed ones; read back the restaurants watched here
        (all of them when ``scan``) to drop stale entries and publish changes."""
        order = sorted(restaurants)
        seen = now_ms()
        pipe = self.redis.pipeline(transaction=False)
        read: list[str] = []
        for r in order:
            mine = self.local.get(r, {})
            if mine:
                pipe.hset(keys.presence(r), mapping={
                    s: self.packed(c, seen) for s, c in mine.items()})
            gone = self.gone.pop(r, set()) - set(mine)
            if gone:
                pipe.hdel(keys.presence(r), *gone)
            if scan or self.watchers(r):
                pipe.hgetall(keys.presence(r))
                read.append(r)
        replies = await pipe.execute()
        tables = [x for x in replies if isinstance(x, dict)]
        for r, table in zip(read, tables, strict=True):
            self._publish(r, table, seen)

    def _publish(self, restaurant_id: str, table: dict[bytes, bytes], now: int) -> None:
        screens: list[Screen] = []
        stale: list[bytes] = []
        for screen, raw in table.items():
            try:
                info = codec.unpack(raw)
            except CodecError:
                info = None
            if not isinstance(info, dict) or now - int(info.get("seen", 0)) > STALE_MS:
                stale.append(screen)
                continue
            screens.append({"screen": screen.decode(), **info})
        if stale:
            task = asyncio.ensure_future(self._drop(restaurant_id, stale))
            self._drops.add(task)
            task.add_done_callback(self._drops.discard)
        if not self.watchers(restaurant_id):
            self.current.pop(restaurant_id, None)
            return
        screens.sort(key=lambda s: str(s["screen"]))
        before = self.current.get(restaurant_id)
        self.current[restaurant_id] = screens
        if before is None or _shape(before) != _shape(screens):
            self.publish(restaurant_id, screens)

    async def _drop(self, restaurant_id: str, stale: list[bytes]) -> None:
        try:
            await self.redis.hdel(keys.presence(restaurant_id), *stale)
        except (RedisError, OSError) as exc:
            log.warning("could not drop stale presence of %s: %s", restaurant_id, exc)


def _shape(screens: list[Screen]) -> list[tuple[str, str]]:
    return [(str(s["screen"]), str(s.get("hub"))) for s in screens]
