"""Checks a decision makes on what it read: is this table, this order, the caller's?"""

from __future__ import annotations

from api import auth
from api.commands import need
from api.context import Call
from kitchen.errors import ForbiddenError
from kitchen.model import Order, TableState
from kitchen.store import State


def seated(call: Call, state: State, table_no: str) -> TableState:
    """The table; for a diner, checked against its token (same table, same session)."""
    table = state.table(table_no)
    if call.role == auth.DINER:
        auth.check_table(call.who, table_no)
        auth.check_session(call.who, table)
    return table


def own_order(call: Call, state: State, order_id: str) -> tuple[Order, TableState]:
    """An order and its table; a diner only reaches the orders of its table's session."""
    order = state.order(order_id)
    need(state, tables=[order.table_no])
    table = seated(call, state, order.table_no)
    if call.role == auth.DINER and order.id not in table.order_ids:
        raise ForbiddenError("this order is not of your table's session", order_id=order_id)
    return order, table


def table_orders(state: State, table: TableState) -> list[Order]:
    """Every order of the table's session (read more when they were not read yet). An order
    no longer in the live state is left out, so a table can always be billed and cleared."""
    need(state, orders=table.order_ids)
    return [o for oid in table.order_ids if (o := state.orders.get(oid)) is not None]
