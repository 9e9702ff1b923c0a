"""The table state machine: open, order, bill, clear, transfer, merge."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kitchen import tables
from kitchen.errors import IllegalTransition, InvalidInput
from kitchen.model import TableState
from kitchen.model import TableStatus as T


def seated(no: str = "A1", status: T = T.OPEN, orders: tuple[str, ...] = ()) -> TableState:
    return TableState(no, status, session="s-" + no, opened_at=1, guests=2, order_ids=orders)


def test_a_table_goes_round_free_open_ordering_paying_free() -> None:
    """The usual life of a table, with its session cleared at the end."""
    t = tables.open_table(TableState("A1"), guests=3, session="s1", now=10)
    assert (t.status, t.session, t.guests) == (T.OPEN, "s1", 3)
    t = tables.add_order(t, "o1")
    assert t.status == T.ORDERING and t.order_ids == ("o1",)
    t = tables.request_bill(t, now=20)
    assert t.status == T.PAYING
    t = tables.add_order(t, "o2")  # they ordered one more drink
    assert t.status == T.ORDERING
    t = tables.clear(tables.request_bill(t, now=30))
    assert t == TableState("A1")


def test_more_dishes_after_the_bill_take_the_table_back_to_ordering() -> None:
    """加菜 at a table that asked for its bill makes its bill out of date; otherwise the
    table is as it was. Only the present guests' orders take more dishes."""
    paying = seated(status=T.PAYING, orders=("o1",))
    assert tables.add_lines(paying, "o1").status == T.ORDERING
    ordering = seated(status=T.ORDERING, orders=("o1",))
    assert tables.add_lines(ordering, "o1") == ordering
    with pytest.raises(IllegalTransition, match="present guests"):
        tables.add_lines(ordering, "o0")
    with pytest.raises(IllegalTransition):
        tables.add_lines(TableState("A1"), "o1")


@pytest.mark.parametrize(("status", "action"), [
    (T.OPEN, "open"), (T.ORDERING, "open"), (T.PAYING, "open"),
    (T.FREE, "order"), (T.FREE, "bill"), (T.OPEN, "bill"), (T.FREE, "clear"),
    (T.ORDERING, "clear"), (T.FREE, "waiter"),
])
def test_illegal_table_moves_are_refused(status: T, action: str) -> None:
    """Each move a table in that state cannot make raises IllegalTransition."""
    t = seated(status=status) if status != T.FREE else TableState("A1")
    run = {
        "open": lambda: tables.open_table(t, 2, "s", 1),
        "order": lambda: tables.add_order(t, "o"),
        "bill": lambda: tables.request_bill(t, 1),
        "clear": lambda: tables.clear(t),
        "waiter": lambda: tables.call_waiter(t, 1),
    }[action]
    with pytest.raises(IllegalTransition):
        run()


@pytest.mark.parametrize("guests", [0, -1, tables.MAX_GUESTS + 1])
def test_guest_count_is_checked(guests: int) -> None:
    """Opening with a silly number of guests is invalid input."""
    with pytest.raises(InvalidInput):
        tables.open_table(TableState("A1"), guests, "s", 1)


def test_transfer_moves_everything_to_a_free_table_under_a_new_session() -> None:
    """转台: the target takes the orders and a new session; the source is free."""
    src, dst = tables.transfer(seated("A1", T.ORDERING, ("o1",)), TableState("B2"), "s-new")
    assert src == TableState("A1")
    assert (dst.no, dst.status, dst.order_ids, dst.session) == ("B2", T.ORDERING, ("o1",),
                                                               "s-new")
    with pytest.raises(IllegalTransition):
        tables.transfer(seated("A1"), seated("B2"), "s")
    with pytest.raises(InvalidInput):
        tables.transfer(seated("A1"), TableState("A1"), "s")


def test_merge_joins_orders_and_guests_and_frees_the_source() -> None:
    """合桌: the target gets both tables' orders and guests; the source is free."""
    src, dst = tables.merge(seated("A1", T.ORDERING, ("o1",)), seated("A2", T.OPEN))
    assert src == TableState("A1")
    assert dst.order_ids == ("o1",) and dst.guests == 4 and dst.status == T.ORDERING
    assert dst.merged_from == ("A1",) and dst.session == "s-A2"
    with pytest.raises(IllegalTransition):
        tables.merge(seated("A1"), TableState("A2"))


def test_asking_for_the_bill_again_keeps_the_first_time() -> None:
    """The board counts how long guests wait to pay from their first request; a second tap
    does not start it again. After 加菜 reopens the table, a new request is a new time."""
    t = tables.request_bill(seated(status=T.ORDERING, orders=("o1",)), now=100)
    assert tables.request_bill(t, now=700).bill_requested_at == 100
    reopened = tables.add_lines(t, "o1")
    assert tables.request_bill(reopened, now=900).bill_requested_at == 900


def test_a_merge_keeps_the_moving_tables_waiter_call() -> None:
    source = replace(seated("A1", T.ORDERING, ("o1",)), waiter_called_at=2_000)
    target = seated("B1", T.ORDERING, ("o2",))
    _, joined = tables.merge(source, target)
    assert joined.waiter_called_at == 2_000
