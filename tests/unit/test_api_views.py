"""What diners see: the menu now, the bill (pure)."""

from __future__ import annotations

from dataclasses import replace

from api import views
from kitchen import demo, ordering
from kitchen.model import DishStatus, Order, TableState, TableStatus

NOW = 1_800_000_000_000
MENU = demo.menu(now_ms=NOW)


def _order(order_id: str, items: list[dict[str, object]], at: int, no: int = 1) -> Order:
    return ordering.new_order(MENU, order_id, "A1", "s", no, ordering.parse_items(items), at)


def test_menu_view_marks_sold_out_dishes_and_set_meals() -> None:
    """A dish at 0 is sold out, and so is every set meal that contains it."""
    view = views.menu_view(MENU, {"d18": 0}, NOW)
    dishes = {d["id"]: d for d in view["dishes"]}
    assert dishes["d18"]["sold_out"] and dishes["d01"]["remaining"] is None
    meals = {s["id"]: s for s in view["set_meals"]}
    assert meals["s2"]["sold_out"] and meals["s2"]["sold_out_dishes"] == ["d18"]
    assert not meals["s1"]["sold_out"]


def test_menu_view_prices_offers_only_while_active() -> None:
    """An offer lowers the price only inside its window."""
    later = NOW + 40 * 86_400_000
    now = {d["id"]: d for d in views.menu_view(MENU, {}, NOW)["dishes"]}["d16"]
    after = {d["id"]: d for d in views.menu_view(MENU, {}, later)["dishes"]}["d16"]
    assert (now["price_now_fen"], now["offer"]["id"]) == (9900, "o1")
    assert (after["price_now_fen"], after["offer"]) == (12800, None)


def test_bill_counts_returned_dishes_as_free() -> None:
    """The bill total leaves out returned and voided dishes and shows what they were worth."""
    order = _order("o1", [{"dish_id": "d01", "qty": 2}, {"dish_id": "d02"}], NOW)
    returned = replace(order, lines=(order.lines[0], replace(order.lines[1],
                                                             status=DishStatus.RETURNED)))
    bill = views.bill_view(TableState("A1", TableStatus.ORDERING), [returned])
    assert (bill["total_fen"], bill["returned_fen"], bill["count"]) == (11600, 3800, 2)
