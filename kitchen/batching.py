"""Micro-batching: the Redis commands of concurrent requests share one pipelined round trip.

Each awaited redis-py call costs tens of microseconds of Python (a pooled connection, a
write, a future, a timeout) whatever it carries; a pipeline pays that once for all its
commands. Requests that reach a Redis step in the same turn of the event loop queue their
commands with :meth:`Batcher.run`; one pipeline (no MULTI) sends them all at the start of the
next turn, and each request gets back exactly its own replies. Nothing waits for a batch to
fill: an idle server sends a batch of one at once. A trip carries the commands of at most
``max_per_trip`` callers (the others go in the next trips: one trip carrying everyone would
make the API and Redis take turns). At most ``max_trips`` trips are in flight; while all are,
commands gather for the next ones (a slow Redis gets fuller pipelines instead of a
connection per turn of the loop, and the pool is never exhausted). Commands queued with
``first`` go before the others: under a queue of new requests, a command's commit waits for
no read queued after its own, so the time between reading a value and committing on it stays
a trip or two, not the whole queue, and optimistic commits rarely lose their race.

Commands keep their own atomicity (a Lua script is still one atomic step); only the trip is
shared. A failed command fails the request that queued it, not the batch.

redis-py (8.x) gives every reply of a client with a ``socket_timeout`` its own timeout context
and every send its own task: most of a trip's cost. A batcher given ``timeout`` is meant for a
client opened without one (``socket_timeout=None``) and bounds each whole trip instead; a
trip past it fails its requests with :class:`redis.exceptions.TimeoutError` and the
connection is dropped.

A batcher given a :class:`Wire` sends its trips down a few connections of its own instead of
through redis-py's pool: commands are still queued on a redis-py pipeline (same command
methods, same reply conversions), but written with hiredis's packer and read with its parser
in an ``asyncio.Protocol``, the trips in flight pipelined on each connection.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio import Connection, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.connection import parse_url
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError
from redis.exceptions import TimeoutError as RedisTimeout

Build = Callable[[Pipeline], object]  # queues commands on the pipeline
Command = tuple[Any, ...]


def pack(args: Command) -> bytes:
    """One command in RESP, by hiredis's C packer."""
    if isinstance(args[0], str) and " " in args[0]:  # "CONFIG GET": separate words
        args = (*args[0].split(), *args[1:])
    packed: bytes = hiredis.pack_command(args)
    return packed


class PackedConnection(Connection):
    """A connection that writes commands with hiredis's C packer (redis-py's asyncio client
    packs every argument in Python)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [pack(args)]


_NOT_FOR_CALLBACKS = frozenset({"keys", NEVER_DECODE})
_MORE = object()  # hiredis: no whole reply buffered yet


class _Trips(asyncio.Protocol):
    """One connection: trips are written as they come and answered in order."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader(protocolError=InvalidResponse,
                                     replyError=BaseParser.parse_error, notEnoughData=_MORE)
        self.waiting: deque[tuple[int, list[Any], asyncio.Future[list[Any]]]] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, commands: Sequence[Command]) -> asyncio.Future[list[Any]]:
        if self.lost is not None or self.transport is None or self.transport.is_closing():
            raise RedisConnectionError("the connection to Redis is closed")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.waiting.append((len(commands), [], future))
        self.transport.write(b"".join([pack(c) for c in commands]))
        return future

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while self.waiting:
                reply = self.reader.gets()
                if reply is _MORE:
                    return
                count, got, future = self.waiting[0]
                got.append(reply)
                if len(got) == count:
                    self.waiting.popleft()
                    if not future.done():
                        future.set_result(got)
        except InvalidResponse as exc:
            self.close(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError(f"Redis closed the connection ({exc or 'EOF'})"))

    def close(self, why: Exception) -> None:
        if self.transport is not None:
            self.transport.close()
        self.fail(why)

    def fail(self, why: Exception) -> None:
        self.lost = why
        while self.waiting:
            _, _, future = self.waiting.popleft()
            if not future.done():
                future.set_exception(why)


class Wire:
    """A few pipelined connections to Redis, each opened on first use and again after it is
    lost; trips take them in turn. More than one, because Redis reads at most 16 KB from a
    connection per turn of its loop, and with ``appendfsync always`` each turn ends in an
    fsync: one connection would cap a busy API at a few commits per fsync."""

    def __init__(self, host: str, port: int, *, db: int = 0, username: str | None = None,
                 password: str | None = None, protocol: int = 3, connections: int = 4,
                 connect_timeout: float = 5.0) -> None:
        self.host, self.port, self.db, self.protocol = host, port, db, protocol
        self.username, self.password = username, password
        self.connect_timeout = connect_timeout
        self._trips: list[_Trips | None] = [None] * connections
        self._opening: list[asyncio.Task[_Trips] | None] = [None] * connections
        self._turn = 0

    @classmethod
    def from_url(cls, url: str, connect_timeout: float = 5.0, connections: int = 4
                 ) -> Wire | None:
        """For a plain ``redis://`` URL; None for what it does not speak (TLS, sockets)."""
        if urlsplit(url).scheme != "redis":
            return None
        kw: dict[str, Any] = dict(parse_url(url))
        return cls(kw.get("host", "localhost"), int(kw.get("port", 6379)),
                   db=int(kw.get("db", 0)), username=kw.get("username"),
                   password=kw.get("password"), protocol=int(kw.get("protocol") or 3),
                   connections=connections, connect_timeout=connect_timeout)

    async def send(self, commands: Sequence[Command]) -> list[Any]:
        """The raw replies to ``commands`` (errors as exception objects, not raised)."""
        n = self._turn
        self._turn = (n + 1) % len(self._trips)
        trips = self._trips[n]
        if trips is None or trips.lost is not None:
            opening = self._opening[n]
            if opening is None:
                opening = self._opening[n] = asyncio.ensure_future(self._open(n))
            try:
                trips = await asyncio.shield(opening)
            finally:
                if self._opening[n] is opening and opening.done():
                    self._opening[n] = None
        return await trips.send(commands)

    async def _open(self, n: int) -> _Trips:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, trips = await loop.create_connection(_Trips, self.host, self.port)
                hello: list[Command] = []
                user = self.username or "default"
                if self.protocol == 3:  # what redis-py speaks by default (and converts from)
                    auth = ("AUTH", user, self.password) if self.password else ()
                    hello.append(("HELLO", 3, *auth))
                elif self.password:
                    hello.append(("AUTH", user, self.password))
                if self.db:
                    hello.append(("SELECT", self.db))
                if hello:
                    error = next((r for r in await trips.send(hello)
                                  if isinstance(r, Exception)), None)
                    if error is not None:
                        trips.close(error)
                        raise error
        except TimeoutError as exc:
            raise RedisTimeout(f"no connection to Redis within {self.connect_timeout} s") from exc
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to Redis at {self.host}:{self.port}: "
                                       f"{exc}") from exc
        self._trips[n] = trips
        return trips

    def drop(self) -> None:
        """Close every connection (a trip that timed out leaves replies out of step)."""
        for n, trips in enumerate(self._trips):
            if trips is not None:
                trips.close(RedisTimeout("the connection to Redis was dropped"))
                self._trips[n] = None

    async def aclose(self) -> None:
        self.drop()


def parsed(pipe: Pipeline, replies: list[Any]) -> list[Any]:
    """Raw replies to a pipeline's commands, converted as redis-py would convert them."""
    callbacks = pipe.response_callbacks
    out = []
    for (args, options), reply in zip(pipe.command_stack, replies, strict=True):
        if options:
            options = {k: v for k, v in options.items() if k not in _NOT_FOR_CALLBACKS}
            if isinstance(reply, ResponseError) and EMPTY_RESPONSE in options:
                reply = options[EMPTY_RESPONSE]
            options.pop(EMPTY_RESPONSE, None)
        callback = callbacks.get(args[0])
        if callback is None or isinstance(reply, ResponseError):
            out.append(reply)
        else:
            out.append(callback(reply, **options))
    return out


def packed_options(url: str, options: dict[str, Any]) -> dict[str, Any]:
    """Client options for ``url`` with commands packed in C (:class:`PackedConnection`) over
    plain TCP (``redis://``); other URLs (TLS, sockets) keep their own connection class, and
    a connection class already given is kept."""
    if url.startswith("redis://"):
        options.setdefault("connection_class", PackedConnection)
    return options


def trips_client(url: str, timeout: float) -> Redis:
    """A client for a :class:`Batcher` given ``timeout``: no per-reply timeouts, C packing
    (for ``redis://`` URLs; others keep their own connection class)."""
    return Redis.from_url(url, **packed_options(url, {
        "decode_responses": False, "socket_timeout": None, "socket_connect_timeout": timeout}))


class Batcher:
    def __init__(self, redis: Redis, timeout: float | None = None, max_trips: int = 16,
                 wire: Wire | None = None, max_per_trip: int = 16) -> None:
        self.redis = redis
        self.wire = wire
        self.timeout = timeout
        self.max_trips = max_trips  # trips in flight at once (each holds a pooled connection)
        # callers per trip: one trip carrying everyone makes the API and Redis take turns
        # (while Redis runs it the API has nothing to do); smaller trips overlap the two
        self.max_per_trip = max_per_trip
        self._pending: list[tuple[Build, asyncio.Future[list[Any]]]] = []
        self._first: list[tuple[Build, asyncio.Future[list[Any]]]] = []  # go before _pending
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, build: Build, first: bool = False) -> list[Any]:
        """Queue the commands ``build`` adds to a pipeline; their replies, in order.
        Raises the first error among them. ``first``: ahead of every command queued without
        it (work already under way: a commit after its read, a retry after a lost race)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        (self._first if first else self._pending).append((build, future))
        self._schedule(loop)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled and len(self._sending) < self.max_trips:
            self._scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        per = self.max_per_trip
        while (self._first or self._pending) and len(self._sending) < self.max_trips:
            batch, self._first = self._first[:per], self._first[per:]
            if len(batch) < per:
                more = per - len(batch)
                batch, self._pending = batch + self._pending[:more], self._pending[more:]
            task = asyncio.ensure_future(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._first or self._pending:  # queued while every trip was busy: one trip now
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
            return await self._trip(pipe)
        try:
            async with asyncio.timeout(self.timeout):
                return await self._trip(pipe)
        except TimeoutError as exc:
            if self.wire is not None:
                self.wire.drop()
            raise RedisTimeout(f"no answer from Redis within {self.timeout} s") from exc

    async def _trip(self, pipe: Pipeline) -> list[Any]:
        if self.wire is None:
            return await pipe.execute(raise_on_error=False)
        return parsed(pipe, await self.wire.send([args for args, _ in pipe.command_stack]))
