"""One blocking XREAD over every restaurant's stream, with a command built incrementally.

``XREAD COUNT c BLOCK b STREAMS k1 … kn id1 … idn`` names every stream at every call; redis-py
packs it at about half a microsecond per argument (a quarter of a millisecond for 500
restaurants), a few hundred times a second. Here the keys are packed once and each stream's id
only when it moves, so a call costs a join of cached bytes. The reply is the raw RESP reply
(``[[key, [[id, [field, value, …]], …]], …]``, a map under RESP3), read on a connection of its
own whose socket timeout exceeds the BLOCK time.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection, Sequence
from typing import Any

from redis.asyncio.connection import Connection, parse_url

Reply = list[tuple[bytes, list[Any]]]


def bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def pack(*args: bytes) -> bytes:
    """One command in RESP."""
    return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)


class Raw:
    """A connection of its own that sends pre-packed commands and reads their replies under
    one deadline (redis-py's pipeline arms a timer per reply, which adds up at 1,000 replies)."""

    def __init__(self, redis_url: str, socket_timeout: float) -> None:
        options: dict[str, Any] = dict(parse_url(redis_url))
        connection_class = options.pop("connection_class", Connection)
        self.conn: Connection = connection_class(
            **options, socket_timeout=socket_timeout, socket_connect_timeout=5)

    async def call(self, packed: bytes | Sequence[bytes], replies: int, within: float) -> list[Any]:
        try:
            await self.conn.send_packed_command(packed, check_health=False)
            async with asyncio.timeout(within):
                return [await self.conn.read_response(timeout=math.inf) for _ in range(replies)]
        except BaseException:
            await self.conn.disconnect()
            raise

    async def close(self) -> None:
        await self.conn.disconnect()


class Tail(Raw):
    def __init__(self, redis_url: str, *, block_ms: int, count: int) -> None:
        super().__init__(redis_url, socket_timeout=block_ms / 1000 + 5)
        self.head = b"".join(bulk(x) for x in (
            b"XREAD", b"COUNT", b"%d" % count, b"BLOCK", b"%d" % block_ms, b"STREAMS"))
        self.head_now = b"".join(bulk(x) for x in (b"XREAD", b"COUNT", b"%d" % count, b"STREAMS"))
        self.ids: dict[bytes, bytes] = {}  # stream key → its packed last id, in command order
        self.packed: dict[bytes, bytes] = {}  # stream key → the key packed
        self.keys_blob = b""

    def __len__(self) -> int:
        return len(self.ids)

    def follow(self, key: bytes, last_id: str) -> None:
        """Read ``key`` from after ``last_id`` (a new stream joins at the end)."""
        if key not in self.ids:
            self.packed[key] = bulk(key)
            self.keys_blob += self.packed[key]
        self.ids[key] = bulk(last_id.encode())

    def command(self, only: Collection[bytes] | None = None) -> bytes:
        """XREAD of every stream, blocking; of ``only`` these (followed) streams, at once."""
        if only is None:
            n = len(self.ids)
            return (b"*%d\r\n" % (6 + 2 * n) + self.head + self.keys_blob
                    + b"".join(self.ids.values()))
        streams = [k for k in only if k in self.ids]
        return (b"*%d\r\n" % (4 + 2 * len(streams)) + self.head_now
                + b"".join([self.packed[k] for k in streams])
                + b"".join([self.ids[k] for k in streams]))

    async def read(self, only: Collection[bytes] | None = None) -> Reply:
        """Entries after each stream's id: of every stream (waiting up to the BLOCK time), or
        of ``only`` these, without waiting. [] when none."""
        if only is not None and not any(k in self.ids for k in only):
            return []
        try:
            await self.conn.send_packed_command(self.command(only), check_health=False)
            reply = await self.conn.read_response()
        except BaseException:
            await self.conn.disconnect()
            raise
        if reply is None:
            return []
        if isinstance(reply, dict):  # RESP3 answers XREAD with a map
            return list(reply.items())
        return list(reply)


def field(fields: list[Any], name: bytes) -> bytes | None:
    """The value of ``name`` in a raw entry's flat [field, value, …] list."""
    for i in range(0, len(fields) - 1, 2):
        if fields[i] == name:
            value: bytes = fields[i + 1]
            return value
    return None
