"""How long until a dish is ready (pure): its target time and the queue at its station.

A station cooks about ``PARALLEL`` dishes at once. A queued dish waits for the queued dishes
ahead of it at its station (their target times shared among ``PARALLEL`` hands), then takes
what is left of its own target time. A cooking dish takes what is left of its target time. An
estimate never drops below ``FLOOR_S`` while the dish is not ready: a late dish is "any
moment", not "ready". Ready or served dishes wait 0; held, returned and voided ones have none.
"""

from __future__ import annotations

from collections.abc import Iterable

from kitchen import dishflow
from kitchen.model import DishStatus as S
from kitchen.model import Line, Order

PARALLEL = 3
FLOOR_S = 30


def queues(orders: Iterable[Order]) -> dict[str, list[tuple[int, str, str, int]]]:
    """Per station: its queued dishes as (queued at, order id, line id, target s), in order."""
    out: dict[str, list[tuple[int, str, str, int]]] = {}
    for order in orders:
        for ln in order.lines:
            if ln.status == S.QUEUED:
                out.setdefault(ln.station_id, []).append(
                    (dishflow.in_kitchen_since(order, ln), order.id, ln.id, ln.target_s))
    for queue in out.values():
        queue.sort()
    return out


def _left(order: Order, line: Line, now: int) -> int:
    elapsed = (now - dishflow.in_kitchen_since(order, line)) // 1000
    return max(FLOOR_S, line.target_s - elapsed)


def wait_s(order: Order, line: Line, station_queues: dict[str, list[tuple[int, str, str, int]]],
           now: int) -> int | None:
    """Seconds until ``line`` is ready, or None when it has no estimate."""
    if line.status in (S.READY, S.SERVED):
        return 0
    if line.status == S.COOKING:
        return _left(order, line, now)
    if line.status != S.QUEUED:
        return None
    ahead = 0
    for _since_ms, order_id, line_id, target in station_queues.get(line.station_id, ()):
        if (order_id, line_id) == (order.id, line.id):
            break
        ahead += target
    return ahead // PARALLEL + _left(order, line, now)
