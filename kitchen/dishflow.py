"""The dish state machine and every kitchen action on an order (pure).

    held ──fire──▶ queued ──start──▶ cooking ──ready──▶ ready ──serve──▶ served
      ▲   ◀─hold──   │                  │                 │  ◀──recall──┘
      │              └──────ready───────┼────────────────▶│
      │                                 ◀──────recall─────┘
    any live or ready dish ──void──▶ voided
    held / queued ──return──▶ returned (at once)
    cooking / ready ──return request──▶ approve ▶ returned | refuse ▶ unchanged
                                        (serving the dish answers the request too)

Every function returns a new :class:`Order` plus what changed; an illegal move raises
:class:`IllegalTransition` and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from kitchen.errors import IllegalTransition, InvalidInput, NotFound, RateLimited
from kitchen.events import StatusChange
from kitchen.model import DishStatus as S
from kitchen.model import Line, Order

MOVES: dict[str, dict[S, S]] = {
    "fire": {S.HELD: S.QUEUED},
    "hold": {S.QUEUED: S.HELD},
    "start": {S.QUEUED: S.COOKING},
    "ready": {S.QUEUED: S.READY, S.COOKING: S.READY},
    "serve": {S.READY: S.SERVED},
    "recall": {S.READY: S.COOKING, S.SERVED: S.COOKING},
    "void": {S.HELD: S.VOIDED, S.QUEUED: S.VOIDED, S.COOKING: S.VOIDED, S.READY: S.VOIDED},
}
ACTIONS = tuple(MOVES)
URGE_INTERVAL_MS = 60_000  # one 催菜 per dish per minute
URGE_MAX = 5


RECALLED = "recalled"  # the times key of a dish's last recall to the kitchen


def _moved(line: Line, to: S, now: int) -> Line:
    """The dish moved to ``to``. Returning, voiding or serving it answers a return that was
    waiting: the dish is gone, or it went to the table. Back into the kitchen (a recall, a
    fire) or out of it (a hold), its overdue clock starts again."""
    times = dict(line.times)
    times[str(to)] = now
    again = to in (S.QUEUED, S.HELD) or (to == S.COOKING and line.status in (S.READY, S.SERVED))
    if to == S.COOKING and again:
        times[RECALLED] = now
    return replace(line, status=to, times=times, return_requested=False
                   if to in (S.RETURNED, S.VOIDED, S.SERVED) else line.return_requested,
                   overdue=False if again else line.overdue)


def in_kitchen_since(order: Order, line: Line) -> int:
    """When the dish last entered the kitchen: queued (or fired), or recalled; its age and
    its overdue clock count from there."""
    return max(line.times.get(str(S.QUEUED), order.created_at), line.times.get(RECALLED, 0))


def _with_lines(order: Order, lines: dict[str, Line]) -> Order:
    return replace(order, lines=tuple(lines.get(ln.id, ln) for ln in order.lines))


def _line(order: Order, line_id: str) -> Line:
    line = order.line(line_id)
    if line is None:
        raise NotFound(f"order {order.no} has no dish {line_id}", line_id=line_id)
    return line


def move(order: Order, action: str, line_ids: tuple[str, ...], now: int
         ) -> tuple[Order, tuple[StatusChange, ...]]:
    """Apply ``action`` to each named dish; all must be able to make the move."""
    table = MOVES.get(action)
    if table is None:
        raise InvalidInput(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if not line_ids:
        raise InvalidInput("no dish named")
    changed: dict[str, Line] = {}
    changes: list[StatusChange] = []
    for line_id in dict.fromkeys(line_ids):
        line = _line(order, line_id)
        to = table.get(line.status)
        if to is None:
            raise IllegalTransition(
                f"cannot {action} a dish that is {line.status}",
                line_id=line_id, status=str(line.status), action=action)
        changed[line_id] = _moved(line, to, now)
        changes.append(StatusChange(line_id, line.station_id, str(line.status), str(to)))
    return _with_lines(order, changed), tuple(changes)


def lines_for(order: Order, action: str, station_id: str | None) -> tuple[str, ...]:
    """The dishes of a whole-ticket action: those of ``station_id`` (all when None) that can
    make the move."""
    table = MOVES[action]
    return tuple(ln.id for ln in order.lines
                 if ln.status in table and (station_id is None or ln.station_id == station_id))


def bump(order: Order, station_id: str | None, now: int
         ) -> tuple[Order, tuple[StatusChange, ...]]:
    """Bump a ticket: every queued or cooking dish of the station (or of all) becomes ready."""
    ids = tuple(ln.id for ln in order.lines
                if ln.status in (S.QUEUED, S.COOKING)
                and (station_id is None or ln.station_id == station_id))
    if not ids:
        raise IllegalTransition(f"ticket {order.no} has nothing left to bump")
    return move(order, "ready", ids, now)


def ticket_action(order: Order, action: str, station_id: str | None, now: int
                  ) -> tuple[Order, tuple[StatusChange, ...]]:
    """A whole-ticket action (serve, recall, fire, void) for a station, or all stations."""
    if action == "ready":
        return bump(order, station_id, now)
    if action not in MOVES:
        raise InvalidInput(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    ids = lines_for(order, action, station_id)
    if not ids:
        raise IllegalTransition(f"ticket {order.no} has no dish that can {action}")
    return move(order, action, ids, now)


def request_return(order: Order, line_id: str, now: int) -> tuple[Order, bool]:
    """退菜: granted at once (True) while held or queued; otherwise flagged for approval."""
    line = _line(order, line_id)
    if line.status in (S.HELD, S.QUEUED):
        return _with_lines(order, {line_id: _moved(line, S.RETURNED, now)}), True
    if line.status in (S.COOKING, S.READY):
        if line.return_requested:
            raise IllegalTransition("a return of this dish is already waiting for approval",
                                    line_id=line_id)
        return _with_lines(order, {line_id: replace(line, return_requested=True)}), False
    raise IllegalTransition(f"a dish that is {line.status} cannot be returned",
                            line_id=line_id, status=str(line.status))


def decide_return(order: Order, line_id: str, approve: bool, now: int) -> Order:
    """Kitchen or merchant approves or refuses a pending return."""
    line = _line(order, line_id)
    if not line.return_requested or line.status not in (S.COOKING, S.READY):
        raise IllegalTransition("no return of this dish is waiting for approval",
                                line_id=line_id)
    new = _moved(line, S.RETURNED, now) if approve else replace(line, return_requested=False)
    return _with_lines(order, {line_id: new})


def urge(order: Order, line_id: str, now: int) -> Order:
    """催菜: allowed for dishes not yet ready, at most once a minute and five times a dish."""
    line = _line(order, line_id)
    if line.status not in (S.HELD, S.QUEUED, S.COOKING):
        raise IllegalTransition(f"a dish that is {line.status} cannot be urged",
                                line_id=line_id, status=str(line.status))
    if line.urges >= URGE_MAX:  # for good: not worth trying again later
        raise IllegalTransition(f"this dish was already urged {URGE_MAX} times",
                                line_id=line_id, urges=line.urges)
    wait = line.last_urged_at + URGE_INTERVAL_MS - now
    if line.urges and wait > 0:
        raise RateLimited(f"urged a moment ago; try again in {wait // 1000 + 1} s",
                          line_id=line_id, retry_after_ms=wait)
    return _with_lines(order, {line_id: replace(line, urges=line.urges + 1,
                                                last_urged_at=now)})


def overdue_lines(order: Order, now: int) -> tuple[str, ...]:
    """Dishes in the kitchen past their target time and not yet flagged overdue."""
    out = []
    for ln in order.lines:
        if ln.overdue or ln.status not in (S.QUEUED, S.COOKING):
            continue
        since = in_kitchen_since(order, ln)
        if now - since > ln.target_s * 1000:
            out.append(ln.id)
    return tuple(out)


def overdue_at(order: Order) -> int | None:
    """The first moment (ms) :func:`overdue_lines` will name a dish of ``order``; None while
    no dish is waiting in the kitchen unflagged."""
    due = [in_kitchen_since(order, ln) + ln.target_s * 1000 + 1
           for ln in order.lines
           if not ln.overdue and ln.status in (S.QUEUED, S.COOKING)]
    return min(due, default=None)


def mark_overdue(order: Order, line_id: str) -> Order:
    line = _line(order, line_id)
    return _with_lines(order, {line_id: replace(line, overdue=True)})


def is_open(order: Order) -> bool:
    """True while some dish still has to be cooked or served."""
    return any(ln.status in (S.HELD, S.QUEUED, S.COOKING, S.READY) for ln in order.lines)
