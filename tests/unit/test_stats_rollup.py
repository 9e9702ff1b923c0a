"""What events add to the statistics (pure)."""

from __future__ import annotations

from kitchen.events import (
    DishOverdue,
    DishReturned,
    DishStatusChanged,
    DishUrged,
    LinesAdded,
    MenuChanged,
    OrderPlaced,
    StatusChange,
    TableOpened,
)
from kitchen.model import DishStatus, Line, Order, TableState, TableStatus
from workers.rollup import HOUR_MS, hour_of, rollup

T = 1_700_000_000_000
H = hour_of(T)


def _line(line_id: str, dish: str, qty: int, price: int, status: DishStatus = DishStatus.QUEUED,
          times: dict[str, int] | None = None) -> Line:
    return Line(line_id, dish, dish, dish, qty, price, "wok", status=status,
                times=times or {"queued": T})


def _order(*lines: Line, created: int = T) -> Order:
    return Order("o1", "r1", "A1", "s1", 1, created, tuple(lines))


def test_an_order_counts_once_with_its_revenue_and_portions() -> None:
    """A placed order adds one order, its revenue and portions to the hour it was placed in."""
    o = _order(_line("L1", "d1", 2, 1000), _line("L2", "d2", 1, 500))
    roll = rollup([OrderPlaced("r1", order=o, ts=T)])
    assert roll.hours == {H: {"revenue_fen": 2500, "orders": 1, "covers": 0, "dishes": 3}}
    assert roll.dishes[(H, "d1")]["qty"] == 2
    assert roll.dishes[(H, "d1")]["revenue_fen"] == 2000


def test_added_dishes_count_in_the_hour_the_order_was_placed() -> None:
    """加菜 adds only the added dishes, to the order's hour, without counting a new order."""
    o = _order(_line("L1", "d1", 1, 1000), _line("L2", "d2", 2, 300))
    roll = rollup([LinesAdded("r1", order=o, line_ids=("L2",), ts=T + 2 * HOUR_MS)])
    assert roll.hours == {H: {"revenue_fen": 600, "orders": 0, "covers": 0, "dishes": 2}}


def test_returned_and_voided_dishes_are_taken_off_and_counted_as_such() -> None:
    """A return or a void subtracts the dish's revenue and counts the portions returned/voided."""
    o = _order(_line("L1", "d1", 2, 1000, DishStatus.RETURNED),
               _line("L2", "d2", 1, 500, DishStatus.VOIDED))
    roll = rollup([
        DishReturned("r1", order=o, line_id="L1", prev="queued", ts=T + 1),
        DishStatusChanged("r1", order=o, action="void",
                          changes=(StatusChange("L2", "wok", "cooking", "voided"),), ts=T + 2),
    ])
    assert roll.hours[H]["revenue_fen"] == -2500
    assert roll.dishes[(H, "d1")]["returns"] == 2
    assert roll.dishes[(H, "d2")]["voids"] == 1


def test_the_first_time_ready_gives_one_kitchen_time_sample() -> None:
    """Queued→ready seconds are sampled once per dish line, at its first ready."""
    ready = _line("L1", "d1", 1, 1000, DishStatus.READY, {"queued": T, "ready": T + 90_000})
    o = _order(ready)
    change = (StatusChange("L1", "wok", "cooking", "ready"),)
    again = _order(_line("L1", "d1", 1, 1000, DishStatus.READY,
                         {"queued": T, "ready": T + 300_000}))
    roll = rollup([DishStatusChanged("r1", order=o, action="ready", changes=change, ts=T + 90_000),
                   DishStatusChanged("r1", order=again, action="ready", changes=change,
                                     ts=T + 300_000)])
    [sample] = roll.samples.values()
    assert (sample.dish_id, sample.station_id, sample.seconds) == ("d1", "wok", 90.0)


def test_urges_overdue_and_covers_are_counted() -> None:
    """Urges and overdue marks count per dish; guests of an opened table count as covers."""
    o = _order(_line("L1", "d1", 1, 1000))
    table = TableState("A1", TableStatus.OPEN, "s1", T + HOUR_MS, 4)
    roll = rollup([DishUrged("r1", order=o, line_id="L1"), DishOverdue("r1", order=o,
                                                                      line_id="L1"),
                   TableOpened("r1", table=table), MenuChanged("r1", menu_version=2)])
    assert roll.dishes[(H, "d1")]["urges"] == 1
    assert roll.dishes[(H, "d1")]["overdue"] == 1
    assert roll.hours[H + HOUR_MS]["covers"] == 4
