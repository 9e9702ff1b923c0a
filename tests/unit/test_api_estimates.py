"""Wait estimates: target times and the queue at the station (pure)."""

from __future__ import annotations

from dataclasses import replace

from api import estimates
from kitchen import demo, ordering
from kitchen.model import DishStatus, Order

NOW = 1_800_000_000_000
MENU = demo.menu(now_ms=NOW)


def _order(order_id: str, items: list[dict[str, object]], at: int, no: int = 1) -> Order:
    return ordering.new_order(MENU, order_id, "A1", "s", no, ordering.parse_items(items), at)


def test_wait_grows_with_the_queue_ahead() -> None:
    """A queued dish waits for the dishes queued before it at its station."""
    first = _order("o1", [{"dish_id": "d18", "qty": 1}], NOW - 60_000)
    second = _order("o2", [{"dish_id": "d18", "qty": 1}], NOW, 2)
    queues = estimates.queues([first, second])
    w1 = estimates.wait_s(first, first.lines[0], queues, NOW)
    w2 = estimates.wait_s(second, second.lines[0], queues, NOW)
    assert w1 == 420 - 60 and w2 == 420 // estimates.PARALLEL + 420


def test_wait_of_ready_held_and_late_dishes() -> None:
    """Ready dishes wait 0, held ones have no estimate, late ones never drop below the floor."""
    order = _order("o1", [{"dish_id": "d18"}, {"dish_id": "d20", "course": 2}],
                   NOW - 3_600_000)
    queues = estimates.queues([order])
    assert estimates.wait_s(order, order.lines[0], queues, NOW) == estimates.FLOOR_S
    assert estimates.wait_s(order, order.lines[1], queues, NOW) is None
    ready = replace(order.lines[0], status=DishStatus.READY)
    assert estimates.wait_s(order, ready, queues, NOW) == 0
