"""Merchant commands on tables: open (开台), transfer (转台), merge (合桌), clear (清台).

Opening and transferring start a new table session; clearing and merging end the source's.
Either way every diner token of the old session is refused from then on.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from api import body
from api.cart import empty_cart, move_cart
from api.commands import execute
from api.context import Call, Reply
from api.guards import table_orders
from api.limits import MAX_GUESTS
from api.views import bill_view
from kitchen import tables
from kitchen.events import TableCleared, TableMerged, TableOpened, TableTransferred
from kitchen.model import Order
from kitchen.store import Reads, State, Tx


def new_session() -> str:
    return uuid.uuid4().hex[:16]


def _moved(orders: list[Order], table_no: str) -> tuple[Order, ...]:
    return tuple(replace(o, table_no=table_no) for o in orders)


async def open_table(call: Call) -> Reply:
    """开台: seat guests at a free table; its QR code starts working."""
    table_no = call.param("table")
    guests = body.integer(call.body, "guests", lo=1, hi=MAX_GUESTS)
    session = new_session()

    def decide(state: State) -> Tx:
        opened = tables.open_table(state.table(table_no), guests, session, call.now)
        tx = Tx(state)
        tx.put_table(opened)
        tx.emit(TableOpened(call.rid, table=opened))
        tx.response = {"table": opened.to_dict()}
        return tx

    return await execute(call, Reads(tables=[table_no]), decide)


async def transfer_table(call: Call) -> Reply:
    """转台: the guests and their orders move to a free table, under a new session."""
    source_no = call.param("table")
    target_no = body.ident(call.body, "to")
    session = new_session()

    def decide(state: State) -> Tx:
        source, target = state.table(source_no), state.table(target_no)
        freed, moved = tables.transfer(source, target, session)
        orders = _moved(table_orders(state, source), target_no)
        tx = Tx(state)
        tx.put_table(freed)
        tx.put_table(moved)
        for order in orders:
            tx.put_order(order)
        tx.emit(TableTransferred(call.rid, source=freed, target=moved, orders=orders))
        move_cart(tx, source_no, state.cart, target_no, state.carts[target_no])
        tx.response = {"source": freed.to_dict(), "target": moved.to_dict()}
        return tx

    return await execute(call, Reads(tables=[source_no, target_no], cart=source_no,
                                     more_carts=[target_no]), decide)


async def merge_table(call: Call) -> Reply:
    """合桌: this table's guests and orders join another seated table; this one is freed."""
    source_no = call.param("table")
    target_no = body.ident(call.body, "into")

    def decide(state: State) -> Tx:
        source, target = state.table(source_no), state.table(target_no)
        freed, joined = tables.merge(source, target)
        orders = _moved(table_orders(state, source), target_no)
        tx = Tx(state)
        tx.put_table(freed)
        tx.put_table(joined)
        for order in orders:
            tx.put_order(order)
        tx.emit(TableMerged(call.rid, source=freed, target=joined, orders=orders))
        move_cart(tx, source_no, state.cart, target_no, state.carts[target_no])
        tx.response = {"source": freed.to_dict(), "target": joined.to_dict()}
        return tx

    return await execute(call, Reads(tables=[source_no, target_no], cart=source_no,
                                     more_carts=[target_no]), decide)


async def clear_table(call: Call) -> Reply:
    """清台: end the session of a table that paid (or never ordered); the table is free."""
    table_no = call.param("table")

    def decide(state: State) -> Tx:
        table = state.table(table_no)
        orders = table_orders(state, table)
        freed = tables.clear(table)
        total = bill_view(table, orders)["total_fen"]
        tx = Tx(state)
        tx.put_table(freed)
        tx.emit(TableCleared(call.rid, table=freed, session_id=table.session, total_fen=total))
        if state.cart:
            empty_cart(tx, table_no)
        tx.response = {"table": freed.to_dict(), "session_id": table.session,
                       "total_fen": total}
        return tx

    return await execute(call, Reads(tables=[table_no], cart=table_no), decide)
