"""The one consumer-group runner every stream-reading role is built on.

A :class:`Runner` reads one stream of every restaurant (its log ``k:{R}:log`` unless told
otherwise; new restaurants are discovered from ``k:restaurants``) through one consumer group
and hands batches of :class:`Entry` to an async handler. Its promises:

- the group is created on each stream if missing (``MKSTREAM``; ``BUSYGROUP`` is fine);
- reads block for at most ``block_ms``, so a stop request is noticed quickly;
- given a live news subscription (:mod:`kitchen.news`, logs only), it reads the streams hinted
  since its last read, and every stream once each ``sweep_ms``, instead of naming every
  stream at every read;
- an entry is acknowledged only after a handler call that contained it returned;
- a failing batch is retried entry by entry, so one bad entry never holds back the others;
- an entry left pending by a dead consumer is reclaimed (``XAUTOCLAIM``) after ``visibility_ms``;
  a stream whose group had nothing pending at the last lag reading is skipped while that
  reading is younger than ``visibility_ms`` (nothing in it can have waited that long yet), so
  an idle restaurant costs no reclaim trip;
- an entry that failed on its ``max_deliveries``-th delivery, or was delivered more often than
  that (it crashed its consumer), goes to the ``k:dead`` stream with the error, the group and the
  consumer, and is then acknowledged;
- transient errors (Redis or PostgreSQL unreachable, ``temporary`` kitchen errors) are retried
  with backoff without spending deliveries;
- :meth:`Runner.stop` lets the batch in progress finish (drain), then :meth:`Runner.run` returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, FieldT, KeyT, StreamIdT

from kitchen import keys
from kitchen.errors import KitchenError
from kitchen.news import Hints, News
from workers.metrics import Metrics

log = logging.getLogger(__name__)


def text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stream_id(value: str) -> tuple[int, int]:
    """``"1700000000000-3"`` → ``(1700000000000, 3)``, comparable."""
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Entry:
    """One stream entry as handed to a handler."""

    stream: str
    id: str
    fields: dict[bytes, bytes]
    deliveries: int = 1

    @property
    def restaurant_id(self) -> str:
        return keys.restaurant_of_log(self.stream)

    @property
    def raw(self) -> bytes:
        """The encoded event (field ``e``); empty if the entry has none."""
        return self.fields.get(keys.STREAM_FIELD, b"")

    @property
    def position(self) -> tuple[int, int]:
        return stream_id(self.id)


Handler = Callable[[Sequence[Entry]], Awaitable[None]]


def default_transient(exc: BaseException) -> bool:
    """Errors that are nobody's entry's fault: retry later, spend no delivery."""
    if isinstance(exc, KitchenError):
        return exc.temporary
    return isinstance(exc, OSError | TimeoutError | RedisConnectionError | RedisTimeoutError)


@dataclass(frozen=True)
class RunnerOptions:
    group: str
    consumer: str
    batch_size: int = 100
    block_ms: int = 1_000
    visibility_ms: int = 30_000
    max_deliveries: int = 5
    discover_every_s: float = 5.0
    reclaim_every_s: float = 5.0
    start_id: str = "0"  # where a group created on an existing stream starts
    # after a read that brought some entries but not a full batch, wait this long before the
    # next one: under load each read then names every stream fewer times for more entries
    linger_ms: int = 0
    lag_every_s: float = 15.0  # how often the lag and pending gauges are read (every stream)
    retry_max_s: float = 10.0
    dead_maxlen: int = 100_000
    stream_of: Callable[[str], str] = keys.log  # which stream of each restaurant to read
    sweep_ms: int = 1_000  # with hints: every stream is read at least this often anyway


class Runner:
    def __init__(
        self,
        redis: aioredis.Redis,
        handler: Handler,
        options: RunnerOptions,
        metrics: Metrics | None = None,
        transient: Callable[[BaseException], bool] = default_transient,
        news: News | None = None,
    ) -> None:
        self.redis = redis
        self.handler = handler
        self.options = options
        self.metrics = metrics or Metrics()
        self.transient = transient
        self.streams: set[str] = set()
        self._reading: dict[KeyT, StreamIdT] | None = None  # XREADGROUP's streams
        self._stopping = asyncio.Event()
        self._next_discover = 0.0
        self._next_reclaim = 0.0
        self._next_lag = 0.0
        # stream → when its group was last seen with nothing pending (monotonic s)
        self._clear_at: dict[str, float] = {}
        # hints (logs only: the commit script announces appends to logs, nothing else)
        self.hints = (Hints(news, options.sweep_ms / 1000, lambda k: k.decode() in self.streams)
                      if news is not None and options.stream_of is keys.log else None)

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in progress (drain)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        group = self.options.group
        log.info("runner %s/%s starting on %s streams", group, self.options.consumer,
                 self.options.stream_of("R").rpartition(":")[2])
        delay = 0.1
        recovered = False
        while not self.stopping:
            try:
                await self._discover_if_due()
                if not recovered:
                    await self.recover()
                    recovered = True
                await self._reclaim_if_due()
                entries = await self._read()
                await self._process(entries)
                if entries and len(entries) < self.options.batch_size and self.options.linger_ms:
                    await self._sleep(self.options.linger_ms / 1000)
                delay = 0.1
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                self._count_error("redis")
                log.warning("runner %s: redis unavailable (%s); retrying in %.1fs",
                            group, exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, self.options.retry_max_s)
            except ResponseError as exc:
                # NOGROUP: a stream or its group is gone; UNBLOCKED: deleted while we waited
                if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                    raise
                log.warning("runner %s: a stream lost its group (%s); recreating", group, exc)
                self.streams.clear()
                self._reading = None
                self._next_discover = 0.0
        log.info("runner %s/%s stopped", group, self.options.consumer)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    # ------------------------------------------------------------------ streams and groups

    async def _discover_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_discover:
            return
        self._next_discover = now + self.options.discover_every_s
        await self.discover()

    async def discover(self) -> None:
        """Create the group on the stream of every restaurant not seen yet."""
        members = await self.redis.smembers(keys.RESTAURANTS)
        for stream in [self.options.stream_of(rid) for rid in sorted(text(m) for m in members)]:
            if stream in self.streams:
                continue
            try:
                await self.redis.xgroup_create(stream, self.options.group,
                                               id=self.options.start_id, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self.streams.add(stream)
            self._reading = None
        now = time.monotonic()
        if now >= self._next_lag:
            self._next_lag = now + self.options.lag_every_s
            await self._measure_lag()

    async def _measure_lag(self) -> None:
        group = self.options.group
        streams = sorted(self.streams)
        pipe = self.redis.pipeline(transaction=False)  # one trip for every stream
        for stream in streams:
            pipe.xinfo_groups(stream)
        measured_at = time.monotonic()
        replies = await pipe.execute(raise_on_error=False) if streams else []
        for stream, groups in zip(streams, replies, strict=True):
            where = {"restaurant": keys.restaurant_of_log(stream)}
            if self.options.stream_of is not keys.log:
                where["stream"] = stream.rpartition(":")[2]
            if isinstance(groups, ResponseError):  # the stream is gone (Redis lost its data)
                self.streams.discard(stream)  # … find it again
                self._reading = None
                continue
            if isinstance(groups, Exception):
                raise groups
            for info in groups:
                if text(info.get("name", b"")) != group:
                    continue
                if not info.get("pending"):
                    self._clear_at[stream] = measured_at
                else:
                    self._clear_at.pop(stream, None)
                lag = info.get("lag")
                self.metrics.set("worker_lag", float(lag or 0), group=group, **where)
                self.metrics.set("worker_pending", float(info.get("pending") or 0),
                                 group=group, **where)

    # ------------------------------------------------------------------ reading

    def _entries(self, stream: str, items: Any, counts: dict[str, int] | None = None
                 ) -> tuple[list[Entry], list[str]]:
        """(entries with data, ids of entries that were trimmed away meanwhile)."""
        entries: list[Entry] = []
        gone: list[str] = []
        for raw_id, fields in items or ():
            if raw_id is None:
                continue
            entry_id = text(raw_id)
            if not fields:
                gone.append(entry_id)
                continue
            data = {(k if isinstance(k, bytes) else k.encode()):
                    (v if isinstance(v, bytes) else str(v).encode()) for k, v in fields.items()}
            delivered = (counts or {}).get(entry_id, 1)
            entries.append(Entry(stream, entry_id, data, delivered))
        return entries, gone

    def _parse_read(self, response: Any) -> list[tuple[str, Any]]:
        if isinstance(response, dict):
            return [(text(k), v[0] if v and isinstance(v[0], list) else v)
                    for k, v in response.items()]
        return [(text(stream), items) for stream, items in response or ()]

    async def _read(self) -> list[Entry]:
        if not self.streams:
            await self._sleep(self.options.block_ms / 1000)
            return []
        if self.hints is not None and self.hints.live:
            return await self._read_hinted(self.hints)
        if self._reading is None:
            self._reading = dict.fromkeys(sorted(self.streams), ">")
        response = await self.redis.xreadgroup(
            self.options.group, self.options.consumer, self._reading,
            count=self.options.batch_size, block=self.options.block_ms,
        )
        return await self._taken(response)

    async def _read_hinted(self, hints: Hints) -> list[Entry]:
        """The streams hinted since the last read, or every stream when a sweep is due; with
        neither, wait for a hint (at most ``block_ms``, so a stop is noticed)."""
        hinted = await hints.next(most=self.options.block_ms / 1000)
        streams = sorted(self.streams if hinted is None
                         else self.streams.intersection(k.decode() for k in hinted))
        if not streams:
            return []
        response = await self.redis.xreadgroup(
            self.options.group, self.options.consumer, dict.fromkeys(streams, ">"),
            count=self.options.batch_size)
        out = await self._taken(response)
        per_stream = Counter(entry.stream for entry in out)
        hints.again(s.encode() for s, n in per_stream.items() if n >= self.options.batch_size)
        return out

    async def _taken(self, response: Any) -> list[Entry]:
        out: list[Entry] = []
        for stream, items in self._parse_read(response):
            entries, gone = self._entries(stream, items)
            out += entries
            await self._ack(stream, gone, "skipped")
        return out

    async def recover(self) -> None:
        """Handle the entries this consumer name was given before a restart and never acked."""
        for stream in sorted(self.streams):
            cursor = "0"
            while not self.stopping:
                response = await self.redis.xreadgroup(
                    self.options.group, self.options.consumer, {stream: cursor},
                    count=self.options.batch_size,
                )
                items = [it for s, its in self._parse_read(response) if s == stream
                         for it in its or ()]
                if not items:
                    break
                cursor = text(items[-1][0])
                entries, gone = self._entries(stream, items, await self._deliveries(stream, items))
                await self._ack(stream, gone, "skipped")
                await self._process(await self._within_cap(entries))

    async def _deliveries(self, stream: str, items: Any) -> dict[str, int]:
        ids = [text(i) for i, _ in items or () if isinstance(i, bytes | str)]
        if not ids:
            return {}
        rows = await self.redis.xpending_range(
            stream, self.options.group, min(ids, key=stream_id), max(ids, key=stream_id),
            len(ids), consumername=self.options.consumer,
        )
        return {text(r["message_id"]): int(r["times_delivered"]) for r in rows}

    async def _reclaim_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_reclaim:
            return
        self._next_reclaim = now + self.options.reclaim_every_s
        recent = now - self.options.visibility_ms / 1000
        streams = sorted(s for s in self.streams if self._clear_at.get(s, recent) <= recent)
        pipe = self.redis.pipeline(transaction=False)  # one trip asks every stream
        for stream in streams:
            self._autoclaim(pipe, stream)
        replies = await pipe.execute(raise_on_error=False) if streams else []
        for stream, response in zip(streams, replies, strict=True):
            if isinstance(response, Exception):
                raise response
            if any(response[1:]):  # entries to take over, or ids trimmed away meanwhile
                await self._process(await self._reclaimed(stream, response))

    def _autoclaim(self, redis: Any, stream: str) -> Any:
        return redis.xautoclaim(stream, self.options.group, self.options.consumer,
                                self.options.visibility_ms, "0-0",
                                count=self.options.batch_size)

    async def reclaim(self, stream: str) -> list[Entry]:
        """Take over entries pending longer than the visibility timeout (any consumer)."""
        return await self._reclaimed(stream, await self._autoclaim(self.redis, stream))

    async def _reclaimed(self, stream: str, response: Any) -> list[Entry]:
        items = response[1] if len(response) > 1 else []
        deleted = [text(i) for i in response[2]] if len(response) > 2 else []
        await self._ack(stream, deleted, "skipped")
        counts = await self._deliveries(stream, items)
        entries, gone = self._entries(stream, items, counts)
        await self._ack(stream, gone, "skipped")
        if entries:
            self.metrics.inc("worker_entries_total", len(entries), group=self.options.group,
                             outcome="reclaimed")
            log.info("runner %s reclaimed %d entries of %s", self.options.group, len(entries),
                     stream)
        return await self._within_cap(entries)

    async def _within_cap(self, entries: list[Entry]) -> list[Entry]:
        """Dead-letter entries delivered more often than the cap (they crash their consumer)."""
        keep: list[Entry] = []
        for entry in entries:
            if entry.deliveries > self.options.max_deliveries:
                await self.dead_letter(
                    entry, f"delivered {entry.deliveries} times without being acknowledged")
            else:
                keep.append(entry)
        return keep

    # ------------------------------------------------------------------ handling

    async def _process(self, entries: list[Entry]) -> None:
        if not entries:
            return
        try:
            await self._call(entries)
        except Exception as exc:
            if self.transient(exc):
                return  # stopping while the error lasts: the entries stay pending
            if len(entries) == 1:
                await self._failed(entries[0], exc)
                return
            log.warning("runner %s: batch of %d failed (%r); retrying one by one",
                        self.options.group, len(entries), exc)
            for entry in entries:
                try:
                    await self._call([entry])
                except Exception as one:
                    if self.transient(one):
                        return
                    await self._failed(entry, one)

    async def _call(self, entries: list[Entry]) -> None:
        """Run the handler; retry transient errors with backoff until it succeeds or we stop."""
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                await self.handler(entries)
            except Exception as exc:
                if not self.transient(exc) or self.stopping:
                    raise
                self._count_error("transient")
                log.warning("runner %s: transient error (%r); retrying in %.1fs",
                            self.options.group, exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, self.options.retry_max_s)
                continue
            finally:
                self.metrics.inc("worker_handler_seconds_total", time.perf_counter() - started,
                                 group=self.options.group)
            self.metrics.inc("worker_batches_total", group=self.options.group)
            await self._ack_batch(entries)
            return

    async def _failed(self, entry: Entry, exc: Exception) -> None:
        if self.transient(exc):
            return  # stopping while the error lasts: the entry stays pending for later
        self._count_error("handler")
        if entry.deliveries >= self.options.max_deliveries:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            await self.dead_letter(entry, detail)
            return
        self.metrics.inc("worker_entries_total", group=self.options.group, outcome="failed")
        log.warning("runner %s: entry %s of %s failed on delivery %d/%d: %r",
                    self.options.group, entry.id, entry.stream, entry.deliveries,
                    self.options.max_deliveries, exc)

    async def dead_letter(self, entry: Entry, error: str) -> None:
        """Copy the entry to ``k:dead`` with why and where it failed, then acknowledge it."""
        fields: dict[FieldT, EncodableT] = {k: v for k, v in entry.fields.items()}
        fields.update({  # where and why it failed (over any field of the same name)
            b"stream": entry.stream.encode(),
            b"id": entry.id.encode(),
            b"group": self.options.group.encode(),
            b"consumer": self.options.consumer.encode(),
            b"deliveries": str(entry.deliveries).encode(),
            b"error": error[:2000].encode(),
            b"at": str(int(time.time() * 1000)).encode(),
        })
        await self.redis.xadd(keys.DEAD_LETTER, fields,
                              maxlen=self.options.dead_maxlen, approximate=True)
        await self._ack(entry.stream, [entry.id], "dead")
        log.error("runner %s: entry %s of %s moved to %s after %d deliveries: %s",
                  self.options.group, entry.id, entry.stream, keys.DEAD_LETTER,
                  entry.deliveries, error)

    async def _ack_batch(self, entries: list[Entry]) -> None:
        """Acknowledge a handled batch: one XACK per stream, all in one trip."""
        by_stream: dict[str, list[str]] = {}
        for entry in entries:
            by_stream.setdefault(entry.stream, []).append(entry.id)
        pipe = self.redis.pipeline(transaction=False)
        for stream, ids in by_stream.items():
            pipe.xack(stream, self.options.group, *ids)
        await pipe.execute()
        self.metrics.inc("worker_entries_total", len(entries), group=self.options.group,
                         outcome="acked")

    async def _ack(self, stream: str, ids: list[str], outcome: str) -> None:
        if not ids:
            return
        await self.redis.xack(stream, self.options.group, *ids)
        self.metrics.inc("worker_entries_total", len(ids), group=self.options.group,
                         outcome=outcome)

    def _count_error(self, kind: str) -> None:
        self.metrics.inc("worker_errors_total", group=self.options.group, kind=kind)
