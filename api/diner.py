"""The diner's commands: a session from the table's QR code, the menu, the shared cart,
ordering, adding dishes (加菜), returning (退菜) and urging (催菜) a dish, calling a waiter,
the bill. A merchant token may do the same for any table (a waiter ordering for guests)."""

from __future__ import annotations

import time
from typing import Any

from api import body, ratelimit, stock
from api.cart import empty_cart
from api.commands import execute
from api.context import Call, Reply
from api.guards import own_order, seated, table_orders
from api.limits import MAX_REASON
from api.views import bill_view, menu_view
from kitchen import channels, codec, dishflow, keys, ordering, tables, tokens
from kitchen.errors import AuthError, IllegalTransition, NotFound, TableClosed
from kitchen.events import (
    BillRequested,
    DishReturned,
    DishUrged,
    LinesAdded,
    OrderPlaced,
    ReturnRequested,
    TableReopened,
    WaiterCalled,
    new_id,
)
from kitchen.model import TableState
from kitchen.store import Reads, State, Tx

# ------------------------------------------------------------------ session and menu


async def open_session(call: Call) -> dict[str, Any]:
    """Trade the table's QR token for a diner token, while the table is open."""
    qr = body.text(call.body, "qr", max_len=tokens.MAX_TOKEN_LEN, min_len=1)
    claims = tokens.verify(qr, call.svc.settings.secret_keys)
    if claims.role != "qr" or not claims.table:
        raise AuthError("that is not a table's QR token")
    rid, table_no = claims.restaurant, claims.table
    pipe = call.svc.redis.pipeline(transaction=False)
    pipe.sismember(keys.revoked(rid), claims.jti)
    pipe.hget(keys.tables(rid), table_no)
    revoked, raw = await pipe.execute()
    if revoked:
        raise AuthError("this QR code was withdrawn; ask the staff")
    if raw is None:
        raise NotFound(f"no table {table_no!r}", table=table_no)
    table = TableState.from_dict(codec.unpack(raw))
    if table.status not in tables.SEATED:
        raise TableClosed("this table is not open yet; ask the staff to seat you",
                          table=table_no)
    ttl = call.svc.settings.token_ttl
    token, diner = tokens.issue(call.svc.settings.secret_keys, "diner", [rid], ttl=ttl,
                                table=table_no, session=table.session)
    return {"token": token, "restaurant_id": rid, "table": table_no,
            "session": table.session, "expires_at": diner.exp, "hub_url":
            call.svc.settings.public_hub_url,
            "channels": [channels.table(rid, table_no), channels.menu_channel(rid)]}


async def get_menu(call: Call) -> dict[str, Any]:
    """The menu now: dishes with prices and sold-out marks, set meals, offers."""
    menu = await call.svc.store.menu(call.rid)
    return menu_view(menu, await call.svc.store.stock(call.rid), call.now)


# ------------------------------------------------------------------ orders


def _items(call: Call) -> tuple[ordering.Item, ...]:
    return ordering.parse_items(call.body.get("items"))


async def place_order(call: Call) -> Reply:
    """A new ticket for the table; takes stock; empties the table's cart unless told not to."""
    table_no = call.param("table")
    items = _items(call)
    clear_cart = body.boolean(call.body, "clear_cart", default=True)
    svc, order_id = call.svc, new_id()
    window = ratelimit.Window(svc.limits.orders_per_table, svc.limits.orders_window_s)
    orders = ratelimit.Counter(f"order:{table_no}", window, "orders at this table", time.time())
    if call.gate is not None:  # counted in the read's trip, unless the key has an answer
        call.gate.count(orders, unless_answered=True)
    else:
        idem = keys.idem(call.rid, call.idem or "-")
        (seen,) = await svc.store.batch.run(lambda pipe: pipe.exists(idem))  # a shared trip
        if not seen:
            await ratelimit.count(svc.store.batch, call.rid, orders)

    def decide(state: State) -> Tx:
        table = seated(call, state, table_no)
        order = ordering.new_order(state.menu, order_id, table_no, table.session,
                                   state.seq + 1, items, call.now, table.guests)
        tx = Tx(state)
        stock.take(tx, state, order.lines)
        opened = tables.add_order(table, order.id)
        placed = order.to_dict()
        tx.put_seq(state.seq + 1)
        tx.put_order(order, placed)
        tx.put_table(opened)
        tx.emit(OrderPlaced(call.rid, order=order))
        if clear_cart and state.cart:
            empty_cart(tx, table_no)
        tx.response = {"order": placed, "table": opened.to_dict()}
        return tx

    reads = Reads(tables=[table_no], seq=True, cart=table_no if clear_cart else "",
                  stock=stock.expected(svc.store.known_menu(call.rid), items))
    return await execute(call, reads, decide, status=201)


async def add_lines(call: Call) -> Reply:
    """加菜: more dishes on an order already in the kitchen (flagged as added)."""
    order_id, items = call.param("order"), _items(call)

    def decide(state: State) -> Tx:
        order, table = own_order(call, state, order_id)
        if table.status not in tables.SEATED:
            raise IllegalTransition(f"table {table.no} is {table.status}: nothing can be added",
                                    table=table.no, status=str(table.status))
        ordering_again = tables.add_lines(table, order.id)
        new, line_ids = ordering.add_lines(state.menu, order, items, call.now)
        tx = Tx(state)
        stock.take(tx, state, [ln for ln in new.lines if ln.id in line_ids])
        tx.put_order(new)
        tx.emit(LinesAdded(call.rid, order=new, line_ids=line_ids))
        if ordering_again != table:
            tx.put_table(ordering_again)
            tx.emit(TableReopened(call.rid, table=ordering_again))
        tx.response = {"order": new.to_dict(), "line_ids": list(line_ids)}
        return tx

    reads = Reads(orders=[order_id],
                  stock=stock.expected(call.svc.store.known_menu(call.rid), items))
    return await execute(call, reads, decide, status=201)


async def return_line(call: Call) -> Reply:
    """退菜: granted at once while held or queued; once cooking it waits for approval."""
    order_id, line_id = call.param("order"), call.param("line")

    def decide(state: State) -> Tx:
        order, _ = own_order(call, state, order_id)
        line = order.line(line_id)
        new, granted = dishflow.request_return(order, line_id, call.now)
        tx = Tx(state)
        tx.put_order(new)
        if granted:
            prev = str(line.status) if line else ""
            tx.emit(DishReturned(call.rid, order=new, line_id=line_id, prev=prev))
        else:
            tx.emit(ReturnRequested(call.rid, order=new, line_id=line_id))
        tx.response = {"order": new.to_dict(), "line_id": line_id, "granted": granted}
        return tx

    return await execute(call, Reads(orders=[order_id]), decide)


async def urge_line(call: Call) -> Reply:
    """催菜: hurry a dish not yet ready (once a minute, five times a dish)."""
    order_id, line_id = call.param("order"), call.param("line")

    def decide(state: State) -> Tx:
        order, _ = own_order(call, state, order_id)
        new = dishflow.urge(order, line_id, call.now)
        tx = Tx(state)
        tx.put_order(new)
        tx.emit(DishUrged(call.rid, order=new, line_id=line_id))
        tx.response = {"order": new.to_dict(), "line_id": line_id}
        return tx

    return await execute(call, Reads(orders=[order_id]), decide)


async def call_waiter(call: Call) -> Reply:
    """Ask for a waiter (the board shows the call)."""
    table_no = call.param("table")
    reason = body.text(call.body, "reason", max_len=MAX_REASON, default="")

    def decide(state: State) -> Tx:
        table = tables.call_waiter(seated(call, state, table_no), call.now)
        tx = Tx(state)
        tx.put_table(table)
        tx.emit(WaiterCalled(call.rid, table=table, reason=reason))
        tx.response = {"table": table.to_dict()}
        return tx

    return await execute(call, Reads(tables=[table_no]), decide)


async def get_bill(call: Call) -> dict[str, Any]:
    """The table's bill: every dish of this session, with totals."""
    table_no = call.param("table")
    state = await call.svc.store.read(call.rid, Reads(tables=[table_no]))
    assert isinstance(state, State)
    table = seated(call, state, table_no)
    orders = await call.svc.store.orders_of(call.rid, table.order_ids)
    return bill_view(table, orders)


async def request_bill(call: Call) -> Reply:
    """Ask for the bill: the table turns to paying."""
    table_no = call.param("table")

    def decide(state: State) -> Tx:
        table = seated(call, state, table_no)
        orders = table_orders(state, table)
        paying = tables.request_bill(table, call.now)
        bill = bill_view(paying, orders)
        tx = Tx(state)
        tx.put_table(paying)
        tx.emit(BillRequested(call.rid, table=paying, total_fen=bill["total_fen"]))
        tx.response = {"table": paying.to_dict(), "bill": bill}
        return tx

    return await execute(call, Reads(tables=[table_no]), decide)
