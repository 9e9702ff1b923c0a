"""printer: kitchen tickets to ESC/POS network printers (raw TCP, usually port 9100).

Two consumers feed one spooler:

- the ``printer`` group on every restaurant's log turns events into slips
  (:mod:`workers.tickets`) and records them as pending in ``k:{R}:prints``
  (:mod:`workers.printbook`);
- the ``printer`` group on every restaurant's ``k:{R}:reprint`` stream (written by the API,
  or by :func:`request_reprint`) turns reprint requests into slips of the whole ticket,
  marked 补打.

The spooler keeps one queue per printer, so a printer that is down holds back only its own
slips. Each attempt leases the slip, connects, sends the rendered bytes and marks the slip
printed; a failed attempt is retried with backoff (the error is visible in the print state
meanwhile) until ``give_up_s`` have passed since the slip was made, then it is marked failed.
Both outcomes append a :class:`TicketPrinted` event so the kitchen screen shows them. At start
and every ``SCAN_EVERY_S`` the spooler also picks up pending slips nobody holds (those of a
worker that died).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import asyncpg
import redis.asyncio as aioredis

from kitchen import codec, escpos, keys
from kitchen.db import Queries
from kitchen.errors import NotFound
from kitchen.events import TicketPrinted, now_ms
from kitchen.model import Menu, Order
from kitchen.store import Reads, State, Store, Tx
from workers import printbook
from workers.logged import decode_all
from workers.metrics import Metrics
from workers.printbook import PrintBook, Record
from workers.runner import Entry, Runner, text
from workers.tickets import (
    Layout,
    Slip,
    StationPrinter,
    may_print,
    reprint_slips,
    slips_for,
)

if TYPE_CHECKING:
    from workers.app import Context, Role

log = logging.getLogger(__name__)

GROUP = "printer"
SCAN_EVERY_S = 30.0
Job = tuple[str, str, str, str]  # restaurant, print-state field, slip id, station
PRINTERS_TTL_S = 30.0


async def request_reprint(redis: aioredis.Redis, restaurant_id: str, order_id: str,
                          station_id: str = "", by: str = "cli") -> str:
    """Ask the printer workers to print ``order_id`` again (every station, or one), the way
    the API does; returns the request's stream id."""
    fields: dict[bytes | str, bytes | str] = {"order_id": order_id, "station_id": station_id,
                                              "by": by, "ts": str(now_ms())}
    entry = await redis.xadd(keys.reprint(restaurant_id), fields,  # type: ignore[arg-type]
                             maxlen=10_000, approximate=True)
    return text(entry)


async def send(address: tuple[str, int], data: bytes, limit_s: float) -> None:
    """Open a TCP connection to the printer, write ``data``, close; raise OSError on failure
    (TimeoutError after ``limit_s``)."""
    async with asyncio.timeout(limit_s):
        _, writer = await asyncio.open_connection(*address)
        try:
            writer.write(data)
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class Printers:
    """The stations that have a printer, per restaurant (from PostgreSQL, cached briefly)."""

    def __init__(self, pool: asyncpg.Pool[Any], queries: Queries) -> None:
        self.pool = pool
        self.q = queries
        self._cache: dict[str, tuple[float, dict[str, StationPrinter]]] = {}

    async def of(self, restaurant_id: str) -> dict[str, StationPrinter]:
        hit = self._cache.get(restaurant_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        rows = await self.pool.fetch(self.q["workers_station_printers"], restaurant_id)
        found = {r["id"]: StationPrinter(r["id"], r["name_zh"] or r["name_en"], r["printer"],
                                         bool(r["is_expo"])) for r in rows}
        self._cache[restaurant_id] = (time.monotonic() + PRINTERS_TTL_S, found)
        return found


@dataclass(frozen=True)
class PrintOptions:
    timeout_s: float = 5.0
    give_up_s: float = 600.0
    max_age_s: float = 900.0
    backoff_s: float = 0.5
    backoff_max_s: float = 10.0
    tz: str = "Asia/Shanghai"
    width: int = 32


class Spooler:
    """One queue and one task per printer address; delivers slips with retries."""

    def __init__(self, book: PrintBook, printers: Printers, store: Store,
                 options: PrintOptions, metrics: Metrics | None = None) -> None:
        self.book = book
        self.printers = printers
        self.store = store
        self.options = options
        self.metrics = metrics or Metrics()
        self._queues: dict[str, asyncio.Queue[Job | None]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._queued: set[tuple[str, str, str]] = set()  # (restaurant, field, slip) waiting
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Rescan for orphaned pending slips now and then, until stopped; then drain."""
        while not self._stopping.is_set():
            try:
                await self.scan()
            except (OSError, aioredis.ConnectionError, asyncpg.PostgresError) as exc:
                log.warning("printer scan failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), SCAN_EVERY_S)
        # drain: the attempts in progress end (a retry wait ends at once when stopping)
        for queue in self._queues.values():
            queue.put_nowait(None)
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.options.timeout_s + 1)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def scan(self) -> None:
        now = now_ms()
        for rid in sorted(text(m) for m in await self.book.redis.smembers(keys.RESTAURANTS)):
            for field, record in (await self.book.all(rid)).items():
                for slip in record["slips"]:
                    if slip["state"] == "pending" and slip["lease"] <= now:
                        await self.submit(rid, field, slip["id"], record["station_id"])

    # ------------------------------------------------------------------ delivering

    async def submit(self, restaurant_id: str, field: str, slip_id: str,
                     station_id: str) -> None:
        """Queue a slip for its printer (once: a slip already queued is not queued again)."""
        key = (restaurant_id, field, slip_id)
        if key in self._queued:
            return
        printer = (await self.printers.of(restaurant_id)).get(station_id)
        address = printer.address if printer else ""
        if key in self._queued:
            return
        queue = self._queues.get(address)
        if queue is None:
            queue = self._queues[address] = asyncio.Queue()
            self._tasks[address] = asyncio.create_task(self._drain(queue))
        self._queued.add(key)
        queue.put_nowait((restaurant_id, field, slip_id, station_id))

    async def _drain(self, queue: asyncio.Queue[Job | None]) -> None:
        while not self._stopping.is_set():
            job = await queue.get()
            if job is None:
                return
            try:
                await self.deliver(*job)
            except Exception:
                log.exception("printer: delivering %s failed unexpectedly", job)
            finally:
                self._queued.discard(job[:3])

    async def deliver(self, restaurant_id: str, field: str, slip_id: str,
                      station_id: str) -> None:
        """Print one slip, retrying while the printer is down, until printed or given up."""
        o = self.options
        lease_ms = int((o.timeout_s * 2 + 5) * 1000)
        delay = o.backoff_s
        while True:
            record = await self.book.update(restaurant_id, field, partial(
                printbook.claimed, slip_id=slip_id, now=now_ms(), lease_ms=lease_ms))
            slip_state = printbook.find(record, slip_id)
            if record is None or slip_state is None:
                return  # printed, failed or held by another attempt
            slip = Slip.from_dict(slip_state["slip"])
            if self._stale(slip):  # the worker was down, or the slip waited behind others:
                # a late 加菜 printed as if new would mislead the cook
                await self._failed(restaurant_id, field, slip, "too late to print", True)
                return
            printer = (await self.printers.of(restaurant_id)).get(station_id)
            try:
                if printer is None:
                    raise OSError(f"station {station_id} has no printer any more")
                await send(printer.host_port, escpos.render(slip.ticket), o.timeout_s)
            except (OSError, TimeoutError, OverflowError, ValueError) as exc:  # a bad address
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                give_up = self._stale(slip)
                await self._failed(restaurant_id, field, slip, error, give_up)
                if give_up:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                if self._stopping.is_set():
                    return
                delay = min(delay * 2, o.backoff_max_s)
                continue
            await self.book.update(restaurant_id, field,
                                   lambda r: printbook.printed(r, slip_id, now_ms()))
            self.metrics.inc("worker_tickets_total", outcome="printed")
            log.info("printed %s on %s (%s)", slip_id, station_id, printer.address)
            await self._announce(restaurant_id, slip, ok=True)
            return

    def _stale(self, slip: Slip) -> bool:
        """Past the give-up time: no longer worth printing (or trying to)."""
        return now_ms() - slip.created_at >= self.options.give_up_s * 1000

    async def _failed(self, rid: str, field: str, slip: Slip, error: str, give_up: bool) -> None:
        await self.book.update(rid, field, lambda r: printbook.attempt_failed(
            r, slip.id, now_ms(), error, give_up))
        self.metrics.inc("worker_print_attempts_failed_total")
        if give_up:
            self.metrics.inc("worker_tickets_total", outcome="failed")
            log.error("printer: gave up on %s for station %s: %s", slip.id, slip.station_id,
                      error)
            await self._announce(rid, slip, ok=False, error=error)
        else:
            log.warning("printer: %s for station %s not printed yet: %s", slip.id,
                        slip.station_id, error)

    async def _announce(self, rid: str, slip: Slip, ok: bool, error: str = "") -> None:
        def decide(state: State) -> Tx:
            tx = Tx(state)
            tx.emit(TicketPrinted(rid, order_id=slip.order_id, station_id=slip.station_id,
                                  ok=ok, error=error, table_no=slip.ticket.table_no))
            return tx

        await self.store.run(rid, Reads(), decide)


class Enqueuer:
    """Handlers of the two streams: record slips as pending and hand them to the spooler."""

    def __init__(self, spooler: Spooler, store: Store) -> None:
        self.spooler = spooler
        self.store = store

    async def _layout(self, rid: str) -> tuple[Layout, Menu | None]:
        o = self.spooler.options
        try:
            menu = await self.store.menu(rid)
        except NotFound:
            return Layout("", o.tz, o.width), None
        return Layout(menu.name_zh, o.tz, o.width), menu

    async def _record(self, rid: str, slips: list[Slip]) -> None:
        for slip in slips:
            field = printbook.field_of(slip.order_id, slip.station_id)
            await self.spooler.book.update(
                rid, field, partial(printbook.with_slip, slip=slip, now=now_ms()))
            await self.spooler.submit(rid, field, slip.id, slip.station_id)

    async def events(self, entries: Sequence[Entry]) -> None:
        oldest = now_ms() - int(self.spooler.options.max_age_s * 1000)
        for item in decode_all(entries):
            event = item.event
            if event.ts < oldest or not may_print(event):
                continue
            printers = await self.spooler.printers.of(event.restaurant_id)
            if not printers:
                continue
            layout, menu = await self._layout(event.restaurant_id)
            await self._record(event.restaurant_id, slips_for(event, printers, layout, menu))

    async def reprints(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            fields: Mapping[bytes, bytes] = entry.fields
            rid = entry.restaurant_id
            order_id = fields.get(b"order_id", b"").decode()
            station_id = fields.get(b"station_id", b"").decode()
            order = await self._order(rid, order_id)
            if order is None:
                log.warning("reprint: no order %r of restaurant %r today", order_id, rid)
                continue
            layout, menu = await self._layout(rid)
            printers = await self.spooler.printers.of(rid)
            await self._record(rid, reprint_slips(order, printers, layout, f"reprint-{entry.id}",
                                                  now_ms(), station_id, menu))

    async def _order(self, rid: str, order_id: str) -> Order | None:
        raw: bytes | None = await self.store.redis.hget(keys.orders(rid), order_id)  # type: ignore[assignment]
        return None if raw is None else Order.from_dict(codec.unpack(raw))


def roles(ctx: Context) -> list[Role]:
    c = ctx.config
    store = Store(ctx.redis, maxlen=ctx.settings.stream_maxlen,
                  idempotency_ttl=ctx.settings.idempotency_ttl)
    options = PrintOptions(timeout_s=c.print_timeout_s, give_up_s=c.print_give_up_s,
                           max_age_s=c.print_max_age_s, tz=c.tz, width=c.print_width,
                           backoff_s=min(0.5, c.print_retry_max_s),
                           backoff_max_s=c.print_retry_max_s)
    spooler = Spooler(PrintBook(ctx.redis), Printers(ctx.pool, ctx.queries), store, options,
                      ctx.metrics)
    enqueuer = Enqueuer(spooler, store)
    reprints: Runner = ctx.runner(GROUP, enqueuer.reprints, stream_of=keys.reprint)
    return [ctx.runner(GROUP, enqueuer.events), reprints, spooler]


def records_of(book: Mapping[str, Record], order_id: str) -> dict[str, Record]:
    """The print records of one order, by station (for screens and tests)."""
    return {r["station_id"]: r for f, r in book.items() if f.startswith(order_id + ":")}
