"""Which channels an event reaches, and channel names."""

from __future__ import annotations

import pytest

from kitchen import channels, codec, events
from kitchen.model import Line, Order, TableState


def env(event: events.Event) -> codec.Envelope:
    return codec.peek(codec.encode(event))


ORDER = Order("o1", "r1", "A3", "s", 1, 0, (
    Line("L1", "d1", "a", "a", 1, 1, "wok"), Line("L2", "d2", "b", "b", 1, 1, "cold")))


def test_an_order_reaches_its_stations_the_pass_its_table_and_the_board() -> None:
    """A ticket goes to every station with one of its dishes, and no other station."""
    got = channels.route(env(events.OrderPlaced("r1", order=ORDER)))
    assert got == {"station:r1:wok", "station:r1:cold", "expo:r1", "table:r1:A3", "board:r1",
                   "all:r1"}


def test_a_dish_move_reaches_only_the_station_of_that_dish() -> None:
    """The wok starting its dish wakes neither the cold station nor anyone's other screen;
    the pass, the table's phones and the board still see it."""
    started = Order("o1", "r1", "A3", "s", 1, 0, (
        Line("L1", "d1", "a", "a", 1, 1, "wok", status="cooking"), ORDER.lines[1]))
    got = channels.route(env(events.DishStatusChanged(
        "r1", order=started, action="start",
        changes=(events.StatusChange("L1", "wok", "queued", "cooking"),))))
    assert got == {"station:r1:wok", "expo:r1", "table:r1:A3", "board:r1", "all:r1"}


def test_a_move_of_dishes_at_two_stations_reaches_both() -> None:
    """The pass serving the whole order changes both stations' dishes: both hear of it."""
    got = channels.route(env(events.DishStatusChanged(
        "r1", order=ORDER, action="serve",
        changes=(events.StatusChange("L1", "wok", "ready", "served"),
                 events.StatusChange("L2", "cold", "ready", "served")))))
    assert {"station:r1:wok", "station:r1:cold"} <= got


@pytest.mark.parametrize("event", [
    events.DishUrged("r1", order=ORDER, line_id="L2"),
    events.ReturnRequested("r1", order=ORDER, line_id="L2"),
    events.DishReturned("r1", order=ORDER, line_id="L2", prev="queued"),
])
def test_an_event_about_one_dish_reaches_its_station_only(event: events.Event) -> None:
    """催菜 and 退菜 concern the cold dish: the cold station, not the wok, is told."""
    got = channels.route(env(event))
    assert "station:r1:cold" in got and "station:r1:wok" not in got
    assert {"expo:r1", "table:r1:A3"} <= got


def test_an_order_wide_change_reaches_every_station_of_it() -> None:
    """加急 marks the whole ticket: every station with a dish of it is told."""
    got = channels.route(env(events.OrderRushed("r1", order=ORDER, rush=True)))
    assert {"station:r1:wok", "station:r1:cold"} <= got


def test_a_transfer_reaches_both_tables() -> None:
    """转台 tells the diners of both tables and the stations of the moved orders."""
    got = channels.route(env(events.TableTransferred(
        "r1", source=TableState("A3"), target=TableState("B1"), orders=(ORDER,))))
    assert {"table:r1:A3", "table:r1:B1", "station:r1:wok", "board:r1"} <= got


def test_sold_out_reaches_every_menu_screen() -> None:
    """估清 reaches the menu channel that every diner phone listens to."""
    got = channels.route(env(events.DishSoldOut("r1", dish_id="d1")))
    assert "menu:r1" in got and "board:r1" in got
    assert not any(c.startswith("table:") for c in got)


def test_a_cart_stays_at_its_table() -> None:
    """A table's cart goes only to that table (and the restaurant-wide channel)."""
    got = channels.route(env(events.CartChanged("r1", table_no="A3", items=())))
    assert got == {"table:r1:A3", "all:r1"}


@pytest.mark.parametrize("name", ["", "station:r1", "table::A1", "expo", "x:r1", "board:r1:x",
                                  "station:r1:wok:extra"])
def test_malformed_channel_names_are_refused(name: str) -> None:
    """Channel names outside the grammar raise ValueError."""
    with pytest.raises(ValueError):
        channels.parse(name)
