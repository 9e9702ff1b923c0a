"""The load test's ticket check: a ticket missing from a screen fails the run, unless it was
placed as the screen stopped, after the last position the screen read."""

from __future__ import annotations

from typing import Any

from loadtests.check import IN_FLIGHT_MS, Outcome, tally_tickets

T = 1_795_645_000_000


def _accepted(*orders: tuple[str, int, list[str]]) -> dict[str, dict[str, Any]]:
    return {oid: {"r": "r1", "o": oid, "pos": f"{ms}-0", "st": stations}
            for oid, ms, stations in orders}


SCREENS = [{"r": "r1", "k": "wok"}, {"r": "r1", "k": "expo"}]


def _seen(screen: str, *oids: str) -> list[dict[str, Any]]:
    return [{"r": "r1", "k": screen, "o": oid} for oid in oids]


def test_every_ticket_on_every_screen_once_passes() -> None:
    out = Outcome()
    tally_tickets(out, _accepted(("o1", T, ["wok"]), ("o2", T + 1, ["wok"])),
                  _seen("wok", "o1", "o2") + _seen("expo", "o1", "o2"), SCREENS, [])
    assert (out.tickets_expected, out.tickets_lost, out.tickets_twice) == (4, [], [])
    assert out.ok


def test_a_ticket_missing_or_shown_twice_fails() -> None:
    out = Outcome()
    tally_tickets(out, _accepted(("o1", T, ["wok"]), ("o2", T + 1, ["wok"])),
                  _seen("wok", "o1", "o1") + _seen("expo", "o1", "o2"), SCREENS, [])
    assert out.tickets_lost == ["r1/wok/o2"]
    assert out.tickets_twice == ["r1/wok/o1"]
    assert not out.ok


def test_a_ticket_placed_as_its_screen_stopped_is_in_flight() -> None:
    out = Outcome()
    stops = [{"r": "r1", "k": "expo", "pos": f"{T}-0", "ms": T + 2_000}]
    tally_tickets(out, _accepted(("o1", T, ["wok"]), ("o2", T + 1_000, ["wok"])),
                  _seen("wok", "o1", "o2") + _seen("expo", "o1"), SCREENS, stops)
    assert out.tickets_in_flight == ["r1/expo/o2"]
    assert out.tickets_lost == []
    assert out.ok


def test_a_screen_that_stopped_reading_long_before_its_end_still_fails() -> None:
    """The screen read nothing after o1; o2 came long before it stopped: lost."""
    out = Outcome()
    stops = [{"r": "r1", "k": "expo", "pos": f"{T}-0", "ms": T + 1_000 + IN_FLIGHT_MS + 1}]
    tally_tickets(out, _accepted(("o1", T, ["wok"]), ("o2", T + 1_000, ["wok"])),
                  _seen("wok", "o1", "o2") + _seen("expo", "o1"), SCREENS, stops)
    assert out.tickets_lost == ["r1/expo/o2"]
    assert not out.ok


def test_a_ticket_skipped_before_the_last_position_read_is_lost() -> None:
    """The screen read past o1's position without showing it: the hub skipped it."""
    out = Outcome()
    stops = [{"r": "r1", "k": "expo", "pos": f"{T + 5}-0", "ms": T + 10}]
    tally_tickets(out, _accepted(("o1", T, ["wok"]), ("o2", T + 5, ["wok"])),
                  _seen("wok", "o1", "o2") + _seen("expo", "o2"), SCREENS, stops)
    assert out.tickets_lost == ["r1/expo/o1"]
    assert not out.ok


def test_a_screen_deaf_well_before_its_stop_loses_the_tickets_placed_since() -> None:
    """The screen read nothing after o1, 29 s before it stopped; o2 came 25 s before the
    stop and o3 5 s before. o3 may still have been on its way; o2 had time to arrive: lost."""
    out = Outcome()
    stop = T + 29_000
    stops = [{"r": "r1", "k": "expo", "pos": f"{T}-0", "ms": stop}]
    tally_tickets(out, _accepted(("o1", T, ["wok"]), ("o2", stop - 25_000, ["wok"]),
                                 ("o3", stop - 5_000, ["wok"])),
                  _seen("wok", "o1", "o2", "o3") + _seen("expo", "o1"), SCREENS, stops)
    assert out.tickets_lost == ["r1/expo/o2"]
    assert out.tickets_in_flight == ["r1/expo/o3"]
    assert not out.ok


def test_a_ticket_that_an_added_dish_brought_to_a_station_is_checked_there() -> None:
    """o1 had only wok dishes; 加菜 brought a cold dish: the cold screen must show o1 once.
    An addition to a station the order already had asks for nothing more."""
    screens = [*SCREENS, {"r": "r1", "k": "cold"}]
    added = [{"r": "r1", "o": "o1", "pos": f"{T + 5}-0", "st": ["cold"]},
             {"r": "r1", "o": "o1", "pos": f"{T + 6}-0", "st": ["wok"]}]
    shown = _seen("wok", "o1") + _seen("expo", "o1")
    out = Outcome()
    tally_tickets(out, _accepted(("o1", T, ["wok"])), shown, screens, [], added)
    assert out.tickets_lost == ["r1/cold/o1"] and out.tickets_expected == 3
    out = Outcome()
    tally_tickets(out, _accepted(("o1", T, ["wok"])), shown + _seen("cold", "o1"), screens, [],
                  added)
    assert out.ok and out.tickets_expected == 3
