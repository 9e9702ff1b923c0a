"""Turning a diner's items into priced order lines, with limits and stock."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kitchen import demo, ordering
from kitchen.errors import InvalidInput, NotFound, SoldOut
from kitchen.model import DishStatus, Offer, SetMeal

MENU = demo.menu(now_ms=1_000_000)


@pytest.mark.parametrize(("items", "field"), [
    ([], "items"),
    ("d01", "items"),
    ([{"dish_id": "d01"}] * (ordering.MAX_ITEMS + 1), "items"),
    ([{"qty": 1}], "items[0]"),
    ([{"dish_id": "d01", "set_meal_id": "s1"}], "items[0]"),
    ([{"dish_id": "d01", "qty": 0}], "items[0].qty"),
    ([{"dish_id": "d01", "qty": -3}], "items[0].qty"),
    ([{"dish_id": "d01", "qty": ordering.MAX_QTY + 1}], "items[0].qty"),
    ([{"dish_id": "d01", "qty": 1.5}], "items[0].qty"),
    ([{"dish_id": "d01", "qty": True}], "items[0].qty"),
    ([{"dish_id": "d01", "note": "x" * (ordering.MAX_NOTE + 1)}], "items[0].note"),
    ([{"dish_id": "d01", "course": 9}], "items[0].course"),
])
def test_bad_items_are_refused_naming_the_field(items: Any, field: str) -> None:
    """Malformed or out-of-limit items raise InvalidInput that names the field."""
    with pytest.raises(InvalidInput) as err:
        ordering.parse_items(items)
    assert err.value.details["field"] == field


def test_lines_carry_price_station_and_course() -> None:
    """Dishes become lines with the menu's price and station; later courses are held."""
    items = ordering.parse_items([{"dish_id": "d18", "qty": 2, "note": "少辣"},
                                  {"dish_id": "d24", "course": 2}])
    o = ordering.new_order(MENU, "o1", "A1", "s1", 1, items, now=1_000_000)
    a, b = o.lines
    assert (a.id, a.qty, a.unit_price_fen, a.station_id, a.note) == ("L1", 2, 4200, "wok", "少辣")
    assert a.status == DishStatus.QUEUED and b.status == DishStatus.HELD
    assert o.total_fen == 2 * 4200 + 6800


def test_an_active_offer_sets_the_price() -> None:
    """A time-limited offer applies while active, the list price otherwise."""
    items = ordering.parse_items([{"dish_id": "d16"}])
    now = MENU.offers[0].starts_at + 1
    assert ordering.new_order(MENU, "o", "A1", "s", 1, items, now).total_fen == 9900
    later = MENU.offers[0].ends_at + 1
    assert ordering.new_order(MENU, "o", "A1", "s", 1, items, later).total_fen == 12800


def test_the_lowest_active_offer_of_the_dish_wins() -> None:
    """Offers of other dishes, and offers not yet or no longer running, change nothing."""
    list_price = MENU.dish("d16").price_fen  # type: ignore[union-attr]
    menu = replace(MENU, offers=(
        Offer("a", "d16", 9000, 100, 200), Offer("b", "d16", 9500, 100, 300),
        Offer("c", "d01", 1, 0, 10**15), Offer("d", "d16", 1, 500, 600)))
    items = ordering.parse_items([{"dish_id": "d16"}])
    prices = [ordering.new_order(menu, "o", "A1", "s", 1, items, t).total_fen
              for t in (50, 150, 250, 350, 550)]
    assert prices == [list_price, 9000, 9500, list_price, 1]


def test_a_set_meal_becomes_its_dishes_at_the_set_price() -> None:
    """A set meal expands to one line per dish whose prices add up to the set price."""
    items = ordering.parse_items([{"set_meal_id": "s2", "qty": 2}])
    o = ordering.new_order(MENU, "o", "A1", "s", 1, items, 1)
    assert [ln.dish_id for ln in o.lines] == ["d18", "d34", "d35"]
    assert all(ln.set_meal_id == "s2" and ln.qty == 2 for ln in o.lines)
    assert o.total_fen == 2 * 3800


@pytest.mark.parametrize(("dishes", "price"), [
    ((("d18", 1), ("d34", 2)), 19_800),  # a dish twice: its share does not split evenly
    ((("d34", 2), ("d18", 1), ("d35", 3)), 10_001),
    ((("d34", 3),), 1_000),  # one dish three times: 333 + 333 + 334
    ((("d34", 2), ("d35", 3)), 9_997),  # every dish several times
])
@pytest.mark.parametrize("sets", [1, 3])
def test_a_set_meal_is_billed_at_its_price_to_the_fen(
        dishes: tuple[tuple[str, int], ...], price: int, sets: int) -> None:
    """However the set price shares out among its dishes, the lines add up to it exactly,
    each dish keeps its count, and no unit is priced below zero."""
    meal = SetMeal("sx", "测试套餐", "Test set", price, dishes)
    menu = replace(MENU, set_meals=(*MENU.set_meals, meal))
    items = ordering.parse_items([{"set_meal_id": "sx", "qty": sets}])
    o = ordering.new_order(menu, "o", "A1", "s", 1, items, 1)
    assert o.total_fen == price * sets
    counted: dict[str, int] = {}
    for ln in o.lines:
        counted[ln.dish_id] = counted.get(ln.dish_id, 0) + ln.qty
        assert ln.unit_price_fen >= 0
    assert counted == {d: n * sets for d, n in dishes}


def test_the_demo_sets_bill_at_their_menu_price() -> None:
    for meal in MENU.set_meals:
        items = ordering.parse_items([{"set_meal_id": meal.id, "qty": 2}])
        assert ordering.new_order(MENU, "o", "A1", "s", 1, items, 1).total_fen == \
            2 * meal.price_fen


def test_unknown_dish_or_set_is_not_found() -> None:
    """Ordering something not on the menu is NotFound."""
    with pytest.raises(NotFound):
        ordering.new_order(MENU, "o", "A1", "s", 1, ordering.parse_items([{"dish_id": "x"}]), 1)
    with pytest.raises(NotFound):
        ordering.new_order(MENU, "o", "A1", "s", 1,
                           ordering.parse_items([{"set_meal_id": "x"}]), 1)


def test_added_lines_are_flagged_and_numbered_on() -> None:
    """加菜 appends lines flagged as added, numbered after the existing ones."""
    o = ordering.new_order(MENU, "o", "A1", "s", 1, ordering.parse_items([{"dish_id": "d01"}]), 1)
    o2, ids = ordering.add_lines(MENU, o, ordering.parse_items([{"dish_id": "d02"}]), 2)
    assert ids == ("L2",) and o2.lines[1].added and not o2.lines[0].added


def test_stock_is_taken_or_sold_out_named() -> None:
    """Finite stock is decremented; too little raises SoldOut naming the dish."""
    need = {"d08": 2, "d01": 5}
    assert ordering.take_stock({"d08": 3}, need, MENU) == {"d08": 1}
    with pytest.raises(SoldOut) as err:
        ordering.take_stock({"d08": 1}, need, MENU)
    assert err.value.details == {"dish_id": "d08", "remaining": 1}
