"""The live state of every restaurant in Redis, and its one atomic write step.

A command is run as *read → decide → commit*:

1. :meth:`Store.read` fetches, in one round trip, the values a command needs (tables, orders,
   stock counts, the ticket counter, a cart) and the restaurant's menu (cached per version).
2. A pure function (the ``decide`` callback) validates the command with the rules of
   :mod:`kitchen.dishflow`, :mod:`kitchen.tables` and :mod:`kitchen.ordering`, and records the
   new values and the events in a :class:`Tx`.
3. :meth:`Store.commit` runs ``lua/commit.lua``: it checks the idempotency key, checks that
   every value the decision read is unchanged (optimistic concurrency), writes the new values,
   appends the events to the restaurant's stream and keeps the answer for the idempotency key —
   all in one atomic step. If a value changed meanwhile, the command is decided again.

All keys of a command share the restaurant's hash tag (see :mod:`kitchen.keys`).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from kitchen import codec, dishflow, keys
from kitchen.batching import Batcher
from kitchen.errors import ConflictError, NotFound
from kitchen.events import Event, new_id
from kitchen.frozen import quick_init
from kitchen.model import Menu, Order, TableState

MAX_ATTEMPTS = 60
COMMIT_SCRIPT = resources.files("kitchen").joinpath("lua/commit.lua").read_text()
OPEN_SCRIPT = resources.files("kitchen").joinpath("lua/open_orders.lua").read_text()

Slot = tuple[str, str]  # (key, hash field or "" for a string key)


class Prelude(Protocol):
    """Checks a command makes in Redis before it reads: one command, queued first in the read's
    trip (see :mod:`api.gate`); ``check`` raises to refuse the command."""

    def build(self, pipe: Pipeline) -> None: ...

    def check(self, reply: Any) -> None: ...

    async def load(self, redis: Redis) -> None: ...


@dataclass(frozen=True)
class Reads:
    """What a command needs to see."""

    tables: Sequence[str] = ()
    orders: Sequence[str] = ()
    stock: Sequence[str] = ()
    seq: bool = False
    cart: str = ""  # table number whose cart to read
    more_carts: Sequence[str] = ()  # other tables whose carts to read (State.carts)


@dataclass
class State:
    """The values read for one attempt, decoded, with the raw bytes kept for the guards."""

    restaurant_id: str
    menu: Menu
    tables: dict[str, TableState | None]
    orders: dict[str, Order | None]
    stock: dict[str, int | None]
    seq: int
    cart: list[dict[str, Any]]
    raw: dict[Slot, bytes | None]
    carts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # Reads.more_carts

    def table(self, no: str) -> TableState:
        t = self.tables.get(no)
        if t is None:
            raise NotFound(f"no table {no!r}", table=no)
        return t

    def order(self, order_id: str) -> Order:
        o = self.orders.get(order_id)
        if o is None:
            raise NotFound(f"no order {order_id!r} today", order_id=order_id)
        return o


@dataclass
class Tx:
    """What a decision changes: new values (each guarded by the value it was read as) and
    the events to append. ``response`` is what the API answers, kept for the idempotency key."""

    state: State
    writes: dict[Slot, bytes | None] = field(default_factory=dict)
    ttl: dict[Slot, int] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    response: Any = None
    # plain forms made while deciding, for encoding the events: id(object) → (object, form)
    plain: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    # and those already packed, for the events and the answer: id(form) → (form, bytes)
    packed: dict[int, tuple[Any, bytes]] = field(default_factory=dict)

    @property
    def r(self) -> str:
        return self.state.restaurant_id

    def put_table(self, table: TableState) -> None:
        self.writes[(keys.tables(self.r), table.no)] = codec.pack(table.to_dict())

    def put_order(self, order: Order, as_dict: dict[str, Any] | None = None) -> None:
        """``as_dict``: ``order.to_dict()`` when the caller has it already (for its answer)."""
        plain = as_dict or order.to_dict()
        blob = codec.pack(plain)
        self.plain[id(order)] = (order, plain)
        self.packed[id(plain)] = (plain, blob)
        self.writes[(keys.orders(self.r), order.id)] = blob
        self.writes[(keys.open_orders(self.r), order.id)] = open_entry(order)

    def put_stock(self, dish_id: str, remaining: int | None) -> None:
        value = None if remaining is None else str(remaining).encode()
        self.writes[(keys.stock(self.r), dish_id)] = value

    def put_seq(self, value: int) -> None:
        self.writes[(keys.seq(self.r), "")] = str(value).encode()

    def put_cart(self, table_no: str, items: list[dict[str, Any]], ttl: int = 86_400) -> None:
        slot = (keys.cart(self.r, table_no), "")
        self.writes[slot] = codec.pack(items) if items else None
        self.ttl[slot] = ttl

    def put_menu(self, menu: Menu) -> None:
        """A new menu (its version bumped by the caller); not guarded: last writer wins."""
        self.writes[(keys.menu(self.r), "")] = pack_menu(menu)

    def emit(self, event: Event) -> None:
        self.events.append(event)


@quick_init
@dataclass(frozen=True)
class Committed:
    """The outcome: ``pos`` is the stream position of the last event appended (or of the
    first answer's, for a repeat); ``duplicate`` tells a repeat of an idempotency key."""

    response: Any
    pos: str
    duplicate: bool = False
    events: tuple[Event, ...] = ()


_STAMP_MARK = codec.pack("stamp") + codec.pack("0" * 24)[:1]
STAMP_TAIL = len(_STAMP_MARK) + 24  # the stored menu's last bytes: "stamp" and its digest


def pack_menu(menu: Menu) -> bytes:
    """A menu as stored: its msgpack with a digest of itself as the last entry (``stamp``).
    A reader holding that menu knows it is current from the last :data:`STAMP_TAIL` bytes
    (``GETRANGE``) instead of fetching the whole menu (about 10 KB) with every command.
    Menu.from_dict ignores the entry; a menu stored without one is fetched every time."""
    plain = menu.to_dict()
    stamp = hashlib.blake2b(codec.pack(plain), digest_size=12).hexdigest()
    return codec.pack({**plain, "stamp": stamp})


def open_entry(order: Order) -> bytes | None:
    """An order's value in the open-order index (``k:{R}:open``): when a dish of it turns
    overdue (0: none waiting), or None once nothing of it is left to cook or serve."""
    if not dishflow.is_open(order):
        return None
    return str(dishflow.overdue_at(order) or 0).encode()


def _int(raw: bytes | None) -> int | None:
    return None if raw is None else int(raw)


def _orders(raw: Iterable[bytes]) -> list[Order]:
    out = [Order.from_dict(codec.unpack(v)) for v in raw]
    return sorted(out, key=lambda o: (o.created_at, o.no))


class Store:
    """Reads and atomically changes the live state of restaurants."""

    def __init__(self, redis: Redis, *, maxlen: int = 100_000, idempotency_ttl: int = 86_400,
                 menu_ttl: float = 1.0, batch: Batcher | None = None) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self.idempotency_ttl = idempotency_ttl
        self._script = redis.register_script(COMMIT_SCRIPT)
        self._open_script = redis.register_script(OPEN_SCRIPT)
        # reads and commits of concurrent commands share trips
        self.batch = batch or Batcher(redis)
        self._menus: dict[str, tuple[bytes, Menu]] = {}

    # ------------------------------------------------------------------ reading

    def known_menu(self, restaurant_id: str) -> Menu | None:
        """The menu as last read, if any: good for guessing what a command will read (the
        commit's guards catch a guess made on an older menu)."""
        cached = self._menus.get(restaurant_id)
        return cached[1] if cached is not None else None

    async def menu(self, restaurant_id: str) -> Menu:
        tail: bytes = await self.redis.getrange(keys.menu(restaurant_id), -STAMP_TAIL, -1)  # type: ignore[assignment]
        return self._held_menu(restaurant_id, tail) or await self._fetch_menu(restaurant_id)

    def _held_menu(self, restaurant_id: str, tail: bytes) -> Menu | None:
        """The menu held, if the stored one ends in the same stamp."""
        cached = self._menus.get(restaurant_id)
        if cached is None or not tail.startswith(_STAMP_MARK) or not cached[0].endswith(tail):
            return None
        return cached[1]

    async def _fetch_menu(self, restaurant_id: str) -> Menu:
        raw: bytes | None = await self.redis.get(keys.menu(restaurant_id))  # type: ignore[assignment]
        if raw is None:
            raise NotFound(f"no restaurant {restaurant_id!r}", restaurant_id=restaurant_id)
        cached = self._menus.get(restaurant_id)
        if cached is not None and cached[0] == raw:
            return cached[1]
        menu = Menu.from_dict(codec.unpack(raw))
        self._menus[restaurant_id] = (raw, menu)
        return menu

    async def read(self, restaurant_id: str, reads: Reads,
                   idempotency_key: str | None = None,
                   prelude: Prelude | None = None, retry: bool = False) -> State | Committed:
        """The state a command needs, or the first answer when the key was seen before.
        A ``prelude`` runs first in the same trip and may refuse the command. A ``retry``
        (the command lost a race) is read ahead of new commands."""
        r = restaurant_id
        slots: list[Slot] = []
        for no in reads.tables:
            slots.append((keys.tables(r), no))
        for oid in reads.orders:
            slots.append((keys.orders(r), oid))
        for dish in reads.stock:
            slots.append((keys.stock(r), dish))
        if reads.seq:
            slots.append((keys.seq(r), ""))
        if reads.cart:
            slots.append((keys.cart(r, reads.cart), ""))
        slots += [(keys.cart(r, no), "") for no in reads.more_carts]

        hashes: dict[str, list[str]] = {}  # one HMGET per hash, one GET per string
        strings: list[str] = []
        for key, fld in slots:
            if fld:
                hashes.setdefault(key, []).append(fld)
            else:
                strings.append(key)

        def build(pipe: Pipeline) -> None:
            if prelude is not None:
                prelude.build(pipe)
            pipe.hmget(keys.idem(r, idempotency_key or "-"), "r", "p")
            pipe.getrange(keys.menu(r), -STAMP_TAIL, -1)
            for key, flds in hashes.items():
                pipe.hmget(key, flds)
            for key in strings:
                pipe.get(key)

        try:
            replies = await self.batch.run(build, first=retry)
        except NoScriptError:
            if prelude is None:
                raise
            await prelude.load(self.redis)  # a restarted or flushed Redis
            replies = await self.batch.run(build, first=retry)
        if prelude is not None:
            prelude.check(replies[0])
            replies = replies[1:]
        (seen, pos), menu_tail, *values = replies
        if idempotency_key and seen is not None:
            return Committed(codec.unpack(seen), (pos or b"").decode(), duplicate=True)
        raw: dict[Slot, bytes | None] = {}
        for (key, flds), got in zip(hashes.items(), values, strict=False):
            raw.update(zip(((key, f) for f in flds), got, strict=True))
        raw.update(zip(((key, "") for key in strings), values[len(hashes):], strict=True))
        menu = self._held_menu(r, menu_tail) or await self._fetch_menu(r)

        def get(key: str, fld: str) -> Any:
            return raw.get((key, fld))

        tables = {no: (TableState.from_dict(codec.unpack(v)) if (v := get(keys.tables(r), no))
                       else None) for no in reads.tables}
        orders = {oid: (Order.from_dict(codec.unpack(v)) if (v := get(keys.orders(r), oid))
                        else None) for oid in reads.orders}
        stock = {d: _int(get(keys.stock(r), d)) for d in reads.stock}
        seq = _int(get(keys.seq(r), "")) or 0
        cart_raw = get(keys.cart(r, reads.cart), "") if reads.cart else None
        cart = codec.unpack(cart_raw) if cart_raw else []
        carts = {no: codec.unpack(v) if (v := get(keys.cart(r, no), "")) else []
                 for no in reads.more_carts}
        return State(r, menu, tables, orders, stock, seq, cart, raw, carts)

    async def tables(self, restaurant_id: str) -> list[TableState]:
        raw: dict[bytes, bytes] = await self.redis.hgetall(keys.tables(restaurant_id))  # type: ignore[assignment]
        out = [TableState.from_dict(codec.unpack(v)) for v in raw.values()]
        return sorted(out, key=lambda t: (len(t.no), t.no))

    async def orders(self, restaurant_id: str) -> list[Order]:
        """Every order of the day (the recall list, reports); screens want
        :meth:`open_orders`, which does not grow with the day."""
        raw: dict[bytes, bytes] = await self.redis.hgetall(keys.orders(restaurant_id))  # type: ignore[assignment]
        return _orders(raw.values())

    async def open_orders(self, restaurant_id: str) -> list[Order]:
        """The orders with a dish still to cook or serve, oldest first, read through the
        open-order index in one step. The index holds every open order (each commit keeps
        its entry with the order) and may hold a closed one (see :meth:`index_open`), so
        callers still look at each order's dishes."""
        r = restaurant_id
        for _ in range(2):
            raw = await self._open_script(keys=[keys.open_orders(r), keys.orders(r)])
            if raw is not None:
                return _orders(raw)
            await self.index_open(r)
        raise ConflictError("the open orders could not be indexed; please retry")

    async def orders_of(self, restaurant_id: str, order_ids: Sequence[str]) -> list[Order]:
        """The named orders that exist, in the order named."""
        if not order_ids:
            return []
        raw: list[bytes | None] = await self.redis.hmget(keys.orders(restaurant_id),  # type: ignore[assignment]
                                                         list(order_ids))
        return [Order.from_dict(codec.unpack(v)) for v in raw if v is not None]

    async def index_open(self, restaurant_id: str) -> None:
        """Index the open orders of a restaurant whose index is not marked complete (state
        written before the index existed). Entries a commit wrote meanwhile are kept
        (HSETNX); an order closed meanwhile may stay indexed, which readers tolerate."""
        r = restaurant_id
        index = keys.open_orders(r)
        pipe = self.redis.pipeline(transaction=False)
        for order in await self.orders(r):
            entry = open_entry(order)
            if entry is not None:
                pipe.hsetnx(index, order.id, entry)
        pipe.hset(index, keys.OPEN_MARK, b"1")
        await pipe.execute()

    async def stock(self, restaurant_id: str) -> dict[str, int]:
        raw: dict[bytes, bytes] = await self.redis.hgetall(keys.stock(restaurant_id))  # type: ignore[assignment]
        return {k.decode(): int(v) for k, v in raw.items()}

    async def position(self, restaurant_id: str) -> tuple[str, str]:
        """(epoch, last stream position) of the restaurant's log: where a snapshot stands."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.get(keys.epoch(restaurant_id))
        pipe.xrevrange(keys.log(restaurant_id), count=1)
        epoch, last = await pipe.execute()
        pos = last[0][0].decode() if last else "0-0"
        return (epoch.decode() if epoch else ""), pos

    # ------------------------------------------------------------------ writing

    async def install(self, menu: Menu, stock: dict[str, int], *, replace: bool = False) -> None:
        """Make a restaurant live: its menu, stock counts and (free) tables. Existing table
        state is kept unless ``replace``; the log's epoch is set if it has none."""
        r = menu.restaurant_id
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(keys.menu(r), pack_menu(menu))
        pipe.delete(keys.stock(r))
        if stock:
            pipe.hset(keys.stock(r), mapping={d: str(n) for d, n in stock.items()})
        if replace:
            pipe.delete(keys.tables(r), keys.orders(r), keys.open_orders(r), keys.seq(r))
            pipe.hset(keys.open_orders(r), keys.OPEN_MARK, b"1")  # no orders: all indexed
        for no in menu.tables:
            pipe.hsetnx(keys.tables(r), no, codec.pack(TableState(no).to_dict()))
        pipe.set(keys.epoch(r), uuid.uuid4().hex[:12], nx=True)
        await pipe.execute()
        await self.redis.sadd(keys.RESTAURANTS, r)

    async def commit(self, tx: Tx, idempotency_key: str | None = None) -> Committed | None:
        """One atomic attempt; ``None`` when a value read has changed since (decide again)."""
        r = tx.r
        key_index: dict[str, int] = {}
        key_list = [keys.log(r), keys.idem(r, idempotency_key or "-"), keys.epoch(r)]

        def ki(key: str) -> int:
            if key not in key_index:
                key_list.append(key)
                key_index[key] = len(key_list)  # Lua indexes from 1
            return key_index[key]

        guards = [[ki(k), f, False if v is None else v] for (k, f), v in tx.state.raw.items()]
        hwrites = [[ki(k), f, False if v is None else v] for (k, f), v in tx.writes.items() if f]
        swrites = [[ki(k), False if v is None else v, tx.ttl.get((k, f), 0)]
                   for (k, f), v in tx.writes.items() if not f]
        plan = {
            "i": self.idempotency_ttl if idempotency_key else 0,
            "m": self.maxlen,
            "e": new_id(48),
            "g": guards,
            "h": hwrites,
            "s": swrites,
            "v": [codec.encode(e, tx.plain, tx.packed) for e in tx.events],
            "r": codec.pack_reusing(tx.response, tx.packed),
        }
        args = [codec.pack_for_lua(plan)]
        sha = self._script.sha

        def build(pipe: Pipeline) -> None:
            pipe.evalsha(sha, len(key_list), *key_list, *args)

        try:
            (result,) = await self.batch.run(build, first=True)  # work under way goes first
        except NoScriptError:  # a restarted or flushed Redis: load the script and run it
            result = await self._script(keys=key_list, args=args)
        status = result[0]
        if status == b"conflict":
            return None
        if status == b"dup":
            return Committed(codec.unpack(result[1]), result[2].decode(), duplicate=True)
        return Committed(tx.response, result[2].decode(), events=tuple(tx.events))

    async def run(self, restaurant_id: str, reads: Reads | Callable[[], Reads],
                  decide: Callable[[State], Tx], idempotency_key: str | None = None,
                  prelude: Prelude | None = None) -> Committed:
        """Read, decide, commit; decide again while a value read changed meanwhile.
        The ``prelude`` runs with the first read only."""
        for attempt in range(MAX_ATTEMPTS):
            spec = reads() if callable(reads) else reads
            state = await self.read(restaurant_id, spec, idempotency_key,
                                    prelude if attempt == 0 else None, retry=attempt > 0)
            if isinstance(state, Committed):
                return state
            tx = decide(state)
            done = await self.commit(tx, idempotency_key)
            if done is not None:
                return done
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise ConflictError("the restaurant is very busy; please retry")
