"""Kitchen commands: move one dish or a whole ticket through the dish states, rush a ticket,
approve or refuse a return, list every ticket of the day (recall), ask for a reprint.

A station token acts only on its station's dishes; expo and merchant tokens on all of them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from api import auth, body, idempotency
from api.commands import execute
from api.context import Call, Reply
from api.endpoint import Handler
from api.limits import MAX_COURSE
from api.snapshots import position, ticket_view
from kitchen import codec, dishflow, keys
from kitchen.errors import ForbiddenError, IllegalTransition, InvalidInput, NotFound
from kitchen.events import DishReturned, DishStatusChanged, OrderRushed, ReturnRefused
from kitchen.model import Line, Order
from kitchen.store import Reads, State, Tx

DISH_ACTIONS = dishflow.ACTIONS  # fire hold start ready serve recall void
TICKET_ACTIONS = ("bump", "start", "serve", "recall", "fire", "hold", "void")
TICKET_STATES = ("all", "open", "done")


def _line(order: Order, line_id: str) -> Line:
    line = order.line(line_id)
    if line is None:
        raise NotFound(f"order {order.no} has no dish {line_id}", line_id=line_id)
    return line


def _changed(call: Call, state: State, new: Order, action: str,
             changes: tuple[Any, ...]) -> Tx:
    tx, view = Tx(state), new.to_dict()
    tx.put_order(new, view)
    tx.emit(DishStatusChanged(call.rid, order=new, action=action, changes=changes, by=call.by))
    tx.response = {"order": view, "changes": [c.to_dict() for c in changes]}
    return tx


def dish_action(action: str) -> Handler:
    """The handler of one dish move (start, ready, serve, recall, fire, hold, void)."""

    async def handler(call: Call) -> Reply:
        order_id, line_id = call.param("order"), call.param("line")

        def decide(state: State) -> Tx:
            order = state.order(order_id)
            auth.check_station(call.who, _line(order, line_id).station_id)
            new, changes = dishflow.move(order, action, (line_id,), call.now)
            return _changed(call, state, new, action, changes)

        return await execute(call, Reads(orders=[order_id]), decide)

    handler.__name__ = f"dish_{action}"
    handler.__doc__ = f"{action.capitalize()} one dish ({' / '.join(_froms(action))})."
    return handler


def _froms(action: str) -> list[str]:
    return [f"{a}→{b}" for a, b in dishflow.MOVES[action].items()]


def _ticket_station(call: Call) -> str | None:
    wanted = body.optional_ident(call.body, "station")
    scope = auth.station_scope(call.who)
    if scope is not None:
        if wanted and wanted != scope:
            raise ForbiddenError("this token is for another station", station=wanted)
        return scope
    return wanted or None


def ticket_action(action: str) -> Handler:
    """The handler of a whole-ticket move, for one station (or all for expo / merchant)."""

    async def handler(call: Call) -> Reply:
        order_id = call.param("order")
        station = _ticket_station(call)
        course = body.integer(call.body, "course", lo=1, hi=MAX_COURSE, default=0)
        move = "ready" if action == "bump" else action

        def decide(state: State) -> Tx:
            order = state.order(order_id)
            if station is not None and state.menu.station(station) is None:
                raise NotFound(f"no station {station!r}", station=station)
            ids = tuple(i for i in dishflow.lines_for(order, move, station)
                        if not course or _line(order, i).course == course)
            if not ids:
                raise IllegalTransition(f"ticket {order.no} has no dish that can {action}",
                                        action=action, station=station or "", course=course)
            new, changes = dishflow.move(order, move, ids, call.now)
            return _changed(call, state, new, action, changes)

        return await execute(call, Reads(orders=[order_id]), decide)

    handler.__name__ = f"ticket_{action}"
    handler.__doc__ = (f"{action.capitalize()} every dish of a ticket that can "
                       f"(for one station, or one course).")
    return handler


async def rush(call: Call) -> Reply:
    """Mark a ticket urgent (or take the mark off with ``rush: false``)."""
    order_id = call.param("order")
    flag = body.boolean(call.body, "rush", default=True)

    def decide(state: State) -> Tx:
        order = state.order(order_id)
        scope = auth.station_scope(call.who)
        if scope is not None and scope not in order.stations():
            raise ForbiddenError("this ticket has no dish of your station", order_id=order_id)
        if order.rush == flag:
            raise IllegalTransition(f"ticket {order.no} is {'already' if flag else 'not'} "
                                    "rushed", rush=flag)
        if not dishflow.is_open(order):
            raise IllegalTransition(f"ticket {order.no} is done", order_id=order_id)
        new = replace(order, rush=flag)
        tx = Tx(state)
        tx.put_order(new)
        tx.emit(OrderRushed(call.rid, order=new, rush=flag))
        tx.response = {"order": new.to_dict()}
        return tx

    return await execute(call, Reads(orders=[order_id]), decide)


def return_decision(approve: bool) -> Handler:
    async def handler(call: Call) -> Reply:
        order_id, line_id = call.param("order"), call.param("line")

        def decide(state: State) -> Tx:
            order = state.order(order_id)
            line = _line(order, line_id)
            auth.check_station(call.who, line.station_id)
            new = dishflow.decide_return(order, line_id, approve, call.now)
            tx = Tx(state)
            tx.put_order(new)
            if approve:
                tx.emit(DishReturned(call.rid, order=new, line_id=line_id,
                                     prev=str(line.status), approved_by=call.by))
            else:
                tx.emit(ReturnRefused(call.rid, order=new, line_id=line_id, by=call.by))
            tx.response = {"order": new.to_dict(), "line_id": line_id, "approved": approve}
            return tx

        return await execute(call, Reads(orders=[order_id]), decide)

    handler.__name__ = "approve_return" if approve else "refuse_return"
    handler.__doc__ = ("Approve a diner's return of a dish already cooking or ready."
                       if approve else "Refuse a diner's return; the dish stays as it is.")
    return handler


async def tickets(call: Call) -> dict[str, Any]:
    """Every ticket of the day (recall list), newest first; a station sees its dishes only."""
    which = call.query("state", "all")
    if which not in TICKET_STATES:
        raise InvalidInput(f"state must be one of {', '.join(TICKET_STATES)}", field="state")
    station = auth.station_scope(call.who) or call.query("station") or None
    epoch, pos = await position(call)
    menu = await call.svc.store.menu(call.rid)
    out = []
    for order in reversed(await call.svc.store.orders(call.rid)):
        view = ticket_view(order, menu, call.now, station)
        if view is not None and which in ("all", "open" if view["open"] else "done"):
            out.append(view)
    return {"epoch": epoch, "pos": pos, "station": station, "tickets": out}


async def reprint(call: Call) -> Reply:
    """Ask the printer worker to print a ticket's slip again (one station, or every one)."""
    order_id = call.param("order")
    station = _ticket_station(call) or ""
    raw = await call.svc.redis.hget(keys.orders(call.rid), order_id)
    if not isinstance(raw, bytes):
        raise NotFound(f"no order {order_id!r} today", order_id=order_id)
    order = Order.from_dict(codec.unpack(raw))
    at_pass = bool(station) and (found := (await call.svc.store.menu(call.rid)).station(
        station)) is not None and found.is_expo  # the pass prints every ticket
    if station and station not in order.stations() and not at_pass:
        if auth.station_scope(call.who) is not None:
            raise ForbiddenError("this ticket has no dish of your station", order_id=order_id)
        raise NotFound(f"ticket {order.no} has no dish of station {station!r}",
                       station=station)

    async def produce() -> tuple[dict[str, Any], str]:
        entry = await call.svc.redis.xadd(keys.reprint(call.rid), {
            "order_id": order_id, "station_id": station, "by": call.by, "ts": str(call.now)},
            maxlen=10_000, approximate=True)
        request_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        return {"order_id": order_id, "station_id": station, "request_id": request_id}, ""

    return await idempotency.once(call, produce, status=202)
