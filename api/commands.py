"""Running a command through the store: read, decide (pure), commit atomically, answer.

A decision sometimes learns what else it must read only from what it read (a table's orders,
the dishes of a set meal). It then calls :func:`need`, which stops the attempt with
:class:`NeedMore`; :func:`execute` reads again with the wider set and decides afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from api.context import Call, Reply
from api.idempotency import reply, wrap
from kitchen.errors import ConflictError
from kitchen.store import Reads, State, Tx

MAX_WIDENINGS = 8


class NeedMore(Exception):
    """The decision needs values that were not read."""

    def __init__(self, reads: Reads) -> None:
        super().__init__("more reads needed")
        self.reads = reads


def need(state: State, *, tables: Iterable[str] = (), orders: Iterable[str] = (),
         stock: Iterable[str] = ()) -> None:
    """Stop the attempt unless every named value was read."""
    more = Reads(
        tables=tuple(t for t in dict.fromkeys(tables) if t not in state.tables),
        orders=tuple(o for o in dict.fromkeys(orders) if o not in state.orders),
        stock=tuple(d for d in dict.fromkeys(stock) if d not in state.stock),
    )
    if more.tables or more.orders or more.stock:
        raise NeedMore(more)


def widen(a: Reads, b: Reads) -> Reads:
    return Reads(
        tables=tuple(dict.fromkeys((*a.tables, *b.tables))),
        orders=tuple(dict.fromkeys((*a.orders, *b.orders))),
        stock=tuple(dict.fromkeys((*a.stock, *b.stock))),
        seq=a.seq or b.seq,
        cart=a.cart or b.cart,
        more_carts=tuple(dict.fromkeys((*a.more_carts, *b.more_carts))),
    )


async def execute(call: Call, reads: Reads, decide: Callable[[State], Tx],
                  status: int = 200) -> Reply:
    """Run ``decide`` under the call's idempotency key; answer its ``tx.response`` + ``pos``."""

    def decided(state: State) -> Tx:
        tx = decide(state)
        tx.response = wrap(call.fingerprint, tx.response)
        return tx

    for widening in range(MAX_WIDENINGS):
        gate = call.gate if widening == 0 else None  # the pre-checks run once
        try:
            done = await call.svc.store.run(call.rid, reads, decided, call.idem, gate)
        except NeedMore as more:
            reads = widen(reads, more.reads)
            continue
        return reply(done, call.fingerprint, status)
    raise ConflictError("the table kept changing while this was decided; please retry")
