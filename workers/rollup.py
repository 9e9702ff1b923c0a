"""What one event adds to the statistics (pure: plain data in, plain data out).

Figures are attributed to the hour the order was placed (``order.created_at``), so a dish
returned later lowers the revenue of the hour it was sold in. Definitions:

- revenue: dishes ordered (qty × unit price) less those returned (退菜) or voided;
- orders: orders placed; dishes: portions ordered less returned or voided ones;
- covers: guests of the tables opened in that hour;
- per dish: portions, revenue, portions returned, portions voided, urges (催菜), overdue;
- kitchen time: from a dish entering the queue to its first time ready (one sample per line).

Every figure is a sum of deltas, so events may be counted in any order; counting each event
once is the caller's job (see :mod:`workers.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kitchen import events as ev
from kitchen.model import DishStatus, Line, Order

HOUR_MS = 3_600_000


def hour_of(ms: int) -> int:
    """The start of the (UTC) hour ``ms`` falls in, in ms."""
    return ms - ms % HOUR_MS


@dataclass(frozen=True)
class KitchenSample:
    order_id: str
    line_id: str
    dish_id: str
    station_id: str
    qty: int
    ready_at: int
    seconds: float


HourKey = int  # hour start, ms
DishKey = tuple[int, str]  # (hour start ms, dish id)

HOUR_FIELDS = ("revenue_fen", "orders", "covers", "dishes")
DISH_FIELDS = ("qty", "revenue_fen", "returns", "voids", "urges", "overdue")


@dataclass
class Rollup:
    """Deltas keyed by hour and by (hour, dish), plus kitchen-time samples."""

    hours: dict[HourKey, dict[str, int]] = field(default_factory=dict)
    dishes: dict[DishKey, dict[str, int]] = field(default_factory=dict)
    samples: dict[tuple[str, str], KitchenSample] = field(default_factory=dict)

    def hour(self, ms: int, **deltas: int) -> None:
        row = self.hours.setdefault(hour_of(ms), dict.fromkeys(HOUR_FIELDS, 0))
        for name, value in deltas.items():
            row[name] += value

    def dish(self, ms: int, dish_id: str, **deltas: int) -> None:
        row = self.dishes.setdefault((hour_of(ms), dish_id), dict.fromkeys(DISH_FIELDS, 0))
        for name, value in deltas.items():
            row[name] += value

    def sold(self, order: Order, line: Line, sign: int = 1) -> None:
        amount = sign * line.qty * line.unit_price_fen
        self.hour(order.created_at, revenue_fen=amount, dishes=sign * line.qty)
        self.dish(order.created_at, line.dish_id, qty=sign * line.qty, revenue_fen=amount)

    def add(self, event: ev.Event) -> None:
        """Count ``event``."""
        match event:
            case ev.OrderPlaced(order=o):
                self.hour(o.created_at, orders=1)
                for line in o.lines:
                    self.sold(o, line)
            case ev.LinesAdded(order=o, line_ids=ids):
                for line in o.lines:
                    if line.id in ids:
                        self.sold(o, line)
            case ev.DishReturned(order=o, line_id=line_id):
                if (returned := o.line(line_id)) is not None:
                    self.sold(o, returned, -1)
                    self.dish(o.created_at, returned.dish_id, returns=returned.qty)
            case ev.DishStatusChanged(order=o, changes=changes):
                self._moved(o, changes, event.ts)
            case ev.DishUrged(order=o, line_id=line_id):
                if (urged := o.line(line_id)) is not None:
                    self.dish(o.created_at, urged.dish_id, urges=1)
            case ev.DishOverdue(order=o, line_id=line_id):
                if (late := o.line(line_id)) is not None:
                    self.dish(o.created_at, late.dish_id, overdue=1)
            case ev.TableOpened(table=t):
                self.hour(t.opened_at or event.ts, covers=t.guests)
            case _:
                pass

    def _moved(self, order: Order, changes: tuple[ev.StatusChange, ...], ts: int) -> None:
        for change in changes:
            line = order.line(change.line_id)
            if line is None:
                continue
            if change.status == DishStatus.VOIDED:
                self.sold(order, line, -1)
                self.dish(order.created_at, line.dish_id, voids=line.qty)
            elif change.status == DishStatus.READY:
                self._sample(order, line, ts)

    def _sample(self, order: Order, line: Line, ts: int) -> None:
        key = (order.id, line.id)
        if key in self.samples:
            return  # the first time ready counts
        queued = line.times.get(str(DishStatus.QUEUED), order.created_at)
        ready = line.times.get(str(DishStatus.READY), ts)
        self.samples[key] = KitchenSample(order.id, line.id, line.dish_id, line.station_id,
                                          line.qty, ready, max(0.0, (ready - queued) / 1000))


def rollup(batch: list[ev.Event]) -> Rollup:
    """The deltas of a batch of events (each counted once)."""
    out = Rollup()
    for event in batch:
        out.add(event)
    return out
