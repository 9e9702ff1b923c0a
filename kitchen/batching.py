"""Micro-batching: the Redis commands of concurrent requests share one pipelined round trip.

Each awaited redis-py call costs tens of microseconds of Python (a pooled connection, a
write, a future, a timeout) whatever it carries; a pipeline pays that once for all its
commands. Requests that reach a Redis step in the same turn of the event loop queue their
commands with :meth:`Batcher.run`; one pipeline (no MULTI) sends them all at the start of the
next turn, and each request gets back exactly its own replies. Nothing waits for a batch to
fill: an idle server sends a batch of one at once. At most ``max_trips`` trips are in flight;
while all are, commands gather for the next one (a slow Redis gets fewer, larger pipelines
instead of a connection per turn of the loop, and the pool is never exhausted).

Commands keep their own atomicity (a Lua script is still one atomic step); only the trip is
shared. A failed command fails the request that queued it, not the batch.

redis-py (8.x) gives every reply of a client with a ``socket_timeout`` its own timeout context
and every send its own task: most of a trip's cost. A batcher given ``timeout`` is meant for a
client opened without one (``socket_timeout=None``) and bounds each whole trip instead; a
trip past it fails its requests with :class:`redis.exceptions.TimeoutError` and the
connection is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import hiredis
from redis.asyncio import Connection, Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import TimeoutError as RedisTimeout

Build = Callable[[Pipeline], object]  # queues commands on the pipeline


class PackedConnection(Connection):
    """A connection that writes commands with hiredis's C packer (redis-py's asyncio client
    packs every argument in Python)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:  # "CONFIG GET": separate words
            args = (*args[0].split(), *args[1:])
        return [hiredis.pack_command(args)]


def trips_client(url: str, timeout: float) -> Redis:
    """A client for a :class:`Batcher` given ``timeout``: no per-reply timeouts, C packing
    (for ``redis://`` URLs; others keep their own connection class)."""
    options: dict[str, Any] = {"decode_responses": False, "socket_timeout": None,
                               "socket_connect_timeout": timeout}
    if url.startswith("redis://"):
        options["connection_class"] = PackedConnection
    return Redis.from_url(url, **options)


class Batcher:
    def __init__(self, redis: Redis, timeout: float | None = None, max_trips: int = 16) -> None:
        self.redis = redis
        self.timeout = timeout
        self.max_trips = max_trips  # trips in flight at once (each holds a pooled connection)
        self._pending: list[tuple[Build, asyncio.Future[list[Any]]]] = []
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, build: Build) -> list[Any]:
        """Queue the commands ``build`` adds to a pipeline; their replies, in order.
        Raises the first error among them."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._pending.append((build, future))
        self._schedule(loop)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled and len(self._sending) < self.max_trips:
            self._scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending or len(self._sending) >= self.max_trips:
            return  # a trip that ends sends what waits
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._pending:  # commands that queued while every trip was busy: one trip now
            self._schedule(task.get_loop())

    async def _send(self, batch: list[tuple[Build, asyncio.Future[list[Any]]]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        spans: list[tuple[int, int] | None] = []
        for build, future in batch:
            start = len(pipe.command_stack)
            try:
                build(pipe)
            except Exception as exc:  # a bad command: fail its request only
                del pipe.command_stack[start:]
                if not future.done():
                    future.set_exception(exc)
                spans.append(None)
                continue
            spans.append((start, len(pipe.command_stack)))
        try:
            replies = await self._execute(pipe) if pipe.command_stack else []
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), span in zip(batch, spans, strict=True):
            if span is None or future.done():
                continue
            mine = replies[span[0]:span[1]]
            error = next((r for r in mine if isinstance(r, Exception)), None)
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(mine)

    async def _execute(self, pipe: Pipeline) -> list[Any]:
        if self.timeout is None:
            return await pipe.execute(raise_on_error=False)
        try:
            async with asyncio.timeout(self.timeout):
                return await pipe.execute(raise_on_error=False)
        except TimeoutError as exc:
            raise RedisTimeout(f"no answer from Redis within {self.timeout} s") from exc
