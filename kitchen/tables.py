"""The table state machine (pure).

    free ──open──▶ open ──first order──▶ ordering ──bill──▶ paying ──clear──▶ free
                    │                       ▲                 │
                    └────────clear──────────┼── order, 加菜 ──┘
    transfer: a seated table moves to a free one (转台); merge: one seated table joins
    another (合桌). Both end the source's session, so its QR tokens stop working.
"""

from __future__ import annotations

from dataclasses import replace

from kitchen.errors import IllegalTransition, InvalidInput
from kitchen.model import TableState
from kitchen.model import TableStatus as T

MAX_GUESTS = 60
SEATED = frozenset({T.OPEN, T.ORDERING, T.PAYING})


def _need(table: TableState, allowed: frozenset[T] | set[T], action: str) -> None:
    if table.status not in allowed:
        raise IllegalTransition(f"cannot {action} table {table.no}: it is {table.status}",
                                table=table.no, status=str(table.status), action=action)


def open_table(table: TableState, guests: int, session: str, now: int) -> TableState:
    _need(table, {T.FREE}, "open")
    if not 1 <= guests <= MAX_GUESTS:
        raise InvalidInput(f"guests must be between 1 and {MAX_GUESTS}", field="guests")
    return TableState(no=table.no, status=T.OPEN, session=session, opened_at=now, guests=guests)


def add_order(table: TableState, order_id: str) -> TableState:
    """An order was placed at the table (also after the bill was asked for)."""
    _need(table, SEATED, "order at")
    return replace(table, status=T.ORDERING, order_ids=(*table.order_ids, order_id))


def add_lines(table: TableState, order_id: str) -> TableState:
    """加菜 on one of the table's orders: a table that asked for its bill orders again (its
    bill is out of date until asked for anew)."""
    _need(table, SEATED, "add dishes at")
    if order_id not in table.order_ids:
        raise IllegalTransition(
            f"order {order_id} is not of table {table.no}'s present guests: nothing can be "
            "added to it", table=table.no, order_id=order_id, action="add dishes to")
    return replace(table, status=T.ORDERING) if table.status == T.PAYING else table


def request_bill(table: TableState, now: int) -> TableState:
    """The guests ask for the bill; asked again while they wait, the first time stands (the
    board counts how long they have waited from it)."""
    _need(table, {T.ORDERING, T.PAYING}, "ask for the bill of")
    asked = table.bill_requested_at if table.status == T.PAYING and table.bill_requested_at \
        else now
    return replace(table, status=T.PAYING, bill_requested_at=asked)


def clear(table: TableState) -> TableState:
    """清台: only an open table without orders, or one that asked for its bill."""
    _need(table, {T.OPEN, T.PAYING}, "clear")
    return TableState(no=table.no)


def call_waiter(table: TableState, now: int) -> TableState:
    _need(table, SEATED, "call a waiter to")
    return replace(table, waiter_called_at=now)


def transfer(source: TableState, target: TableState, session: str
             ) -> tuple[TableState, TableState]:
    """转台: ``target`` (free) takes over everything of ``source``, under a new session."""
    if source.no == target.no:
        raise InvalidInput("a table cannot be transferred to itself")
    _need(source, SEATED, "transfer")
    _need(target, {T.FREE}, "transfer onto")
    moved = replace(source, no=target.no, session=session)
    return TableState(no=source.no), moved


def merge(source: TableState, target: TableState) -> tuple[TableState, TableState]:
    """合桌: ``source``'s guests and orders join ``target``; ``source`` becomes free."""
    if source.no == target.no:
        raise InvalidInput("a table cannot be merged with itself")
    _need(source, SEATED, "merge")
    _need(target, SEATED, "merge into")
    status = T.ORDERING if (source.order_ids or target.order_ids) else target.status
    joined = replace(
        target,
        status=status if target.status != T.PAYING or source.order_ids else T.PAYING,
        guests=target.guests + source.guests,
        order_ids=(*target.order_ids, *source.order_ids),
        waiter_called_at=max(target.waiter_called_at, source.waiter_called_at),
        merged_from=(*target.merged_from, source.no, *source.merged_from),
    )
    return TableState(no=source.no), joined
