"""The dish state machine: every legal move, every illegal one, returns, urges, overdue."""

from __future__ import annotations

import itertools

import pytest

from kitchen import dishflow
from kitchen.errors import IllegalTransition, InvalidInput, NotFound, RateLimited
from kitchen.model import DishStatus as S
from kitchen.model import Line, Order


def order(*statuses: S, station: str = "wok") -> Order:
    lines = tuple(Line(f"L{n}", f"d{n}", "菜", "dish", 1, 100, station, status=s, target_s=60)
                  for n, s in enumerate(statuses, 1))
    return Order("o1", "r1", "A1", "s1", 7, 1_000, lines)


LEGAL = [(action, src, dst) for action, moves in dishflow.MOVES.items()
         for src, dst in moves.items()]
ILLEGAL = [(action, src) for action, src in itertools.product(dishflow.MOVES, S)
           if src not in dishflow.MOVES[action]]


@pytest.mark.parametrize(("action", "src", "dst"), LEGAL)
def test_legal_move_changes_status_and_stamps_time(action: str, src: S, dst: S) -> None:
    """A legal move sets the new status, records when, and reports the change."""
    new, changes = dishflow.move(order(src), action, ("L1",), now=5_000)
    line = new.lines[0]
    assert line.status == dst
    assert line.times[str(dst)] == 5_000
    assert [(c.line_id, c.prev, c.status) for c in changes] == [("L1", str(src), str(dst))]


@pytest.mark.parametrize(("action", "src"), ILLEGAL)
def test_illegal_move_is_refused(action: str, src: S) -> None:
    """Every move the machine does not allow raises IllegalTransition naming the status."""
    with pytest.raises(IllegalTransition) as err:
        dishflow.move(order(src), action, ("L1",), now=5_000)
    assert err.value.details["status"] == str(src)


def test_one_illegal_dish_refuses_the_whole_move() -> None:
    """If any named dish cannot move, none of them moves."""
    o = order(S.QUEUED, S.SERVED)
    with pytest.raises(IllegalTransition):
        dishflow.move(o, "start", ("L1", "L2"), now=1)


def test_unknown_action_and_dish() -> None:
    """An unknown action is invalid input and an unknown dish is not found."""
    with pytest.raises(InvalidInput):
        dishflow.move(order(S.QUEUED), "fly", ("L1",), now=1)
    with pytest.raises(NotFound):
        dishflow.move(order(S.QUEUED), "start", ("L9",), now=1)


def test_bump_readies_only_the_stations_live_dishes() -> None:
    """Bumping a ticket at one station readies its queued and cooking dishes, nothing else."""
    o = Order("o1", "r1", "A1", "s1", 1, 0, (
        Line("L1", "d1", "a", "a", 1, 1, "wok", status=S.QUEUED),
        Line("L2", "d2", "b", "b", 1, 1, "wok", status=S.COOKING),
        Line("L3", "d3", "c", "c", 1, 1, "cold", status=S.QUEUED),
        Line("L4", "d4", "d", "d", 1, 1, "wok", status=S.HELD),
    ))
    new, changes = dishflow.bump(o, "wok", now=9)
    assert [ln.status for ln in new.lines] == [S.READY, S.READY, S.QUEUED, S.HELD]
    assert {c.line_id for c in changes} == {"L1", "L2"}
    with pytest.raises(IllegalTransition):
        dishflow.bump(new, "wok", now=10)


def test_return_is_granted_at_once_while_queued() -> None:
    """退菜 of a queued dish is granted immediately."""
    new, granted = dishflow.request_return(order(S.QUEUED), "L1", now=3)
    assert granted and new.lines[0].status == S.RETURNED
    assert new.total_fen == 0


def test_return_of_a_cooking_dish_waits_for_approval() -> None:
    """退菜 of a cooking dish is flagged; approval returns it, refusal clears the flag."""
    flagged, granted = dishflow.request_return(order(S.COOKING), "L1", now=3)
    assert not granted and flagged.lines[0].return_requested
    with pytest.raises(IllegalTransition):
        dishflow.request_return(flagged, "L1", now=4)
    approved = dishflow.decide_return(flagged, "L1", approve=True, now=5)
    assert approved.lines[0].status == S.RETURNED and not approved.lines[0].return_requested
    refused = dishflow.decide_return(flagged, "L1", approve=False, now=5)
    assert refused.lines[0].status == S.COOKING and not refused.lines[0].return_requested
    with pytest.raises(IllegalTransition):
        dishflow.decide_return(refused, "L1", approve=True, now=6)


def test_serving_a_dish_answers_its_waiting_return() -> None:
    """The pass serves a dish whose return waits for the kitchen: it went to the table, so
    the request is answered, not left waiting with nothing able to answer it."""
    flagged, _ = dishflow.request_return(order(S.READY), "L1", now=3)
    served, _ = dishflow.move(flagged, "serve", ("L1",), now=4)
    assert served.lines[0].status == S.SERVED and not served.lines[0].return_requested
    with pytest.raises(IllegalTransition):
        dishflow.decide_return(served, "L1", approve=True, now=5)
    recalled, _ = dishflow.move(flagged, "recall", ("L1",), now=4)  # back to the wok: waits on
    assert recalled.lines[0].return_requested


@pytest.mark.parametrize("status", [S.SERVED, S.RETURNED, S.VOIDED])
def test_finished_dishes_cannot_be_returned(status: S) -> None:
    """A served, returned or voided dish cannot be returned."""
    with pytest.raises(IllegalTransition):
        dishflow.request_return(order(status), "L1", now=1)


def test_urge_is_rate_limited() -> None:
    """催菜 counts, refuses a second urge within a minute (try again later) and caps the
    total (for good: a 409, not a 429 a phone would keep retrying)."""
    o = dishflow.urge(order(S.COOKING), "L1", now=100_000)
    assert o.lines[0].urges == 1
    with pytest.raises(RateLimited):
        dishflow.urge(o, "L1", now=130_000)
    t = 100_000
    for _ in range(dishflow.URGE_MAX - 1):
        t += dishflow.URGE_INTERVAL_MS
        o = dishflow.urge(o, "L1", now=t)
    with pytest.raises(IllegalTransition, match="already urged 5 times"):
        dishflow.urge(o, "L1", now=t + 10 * dishflow.URGE_INTERVAL_MS)
    with pytest.raises(IllegalTransition):
        dishflow.urge(order(S.READY), "L1", now=1)


def test_overdue_finds_dishes_past_target_once() -> None:
    """A dish in the kitchen past its target time is overdue, and only until flagged."""
    o = order(S.QUEUED, S.READY)
    assert dishflow.overdue_lines(o, now=1_000 + 59_000) == ()
    assert dishflow.overdue_lines(o, now=1_000 + 61_000) == ("L1",)
    flagged = dishflow.mark_overdue(o, "L1")
    assert dishflow.overdue_lines(flagged, now=1_000 + 61_000) == ()


def test_a_recalled_dish_counts_its_time_from_the_recall() -> None:
    """Served at 6 min and sent back at 30 min, a dish is not overdue at once: its clock
    starts at the recall, and it is flagged again only past its target from there."""
    o = order(S.READY)  # target 60 s, queued at 1 s
    served, _ = dishflow.move(o, "serve", ("L1",), now=6 * 60_000)
    back, _ = dishflow.move(served, "recall", ("L1",), now=30 * 60_000)
    assert dishflow.overdue_lines(back, now=30 * 60_000 + 59_000) == ()
    assert dishflow.overdue_at(back) == 30 * 60_000 + 60_000 + 1
    assert dishflow.overdue_lines(back, now=30 * 60_000 + 61_000) == ("L1",)


def test_a_flag_of_overdue_ends_when_the_dish_leaves_or_reenters_the_kitchen() -> None:
    """Flagged overdue, then held for a later course and fired an hour later: the fired
    dish starts a fresh clock, and is flagged again only if it runs late again; a recalled
    dish that was flagged before is flagged again too."""
    flagged = dishflow.mark_overdue(order(S.QUEUED), "L1")
    held, _ = dishflow.move(flagged, "hold", ("L1",), now=2 * 60_000)
    assert not held.lines[0].overdue
    fired, _ = dishflow.move(held, "fire", ("L1",), now=62 * 60_000)
    assert dishflow.overdue_lines(fired, now=62 * 60_000 + 30_000) == ()
    assert dishflow.overdue_lines(fired, now=62 * 60_000 + 61_000) == ("L1",)
    cooked = dishflow.mark_overdue(order(S.COOKING), "L1")
    ready, _ = dishflow.move(cooked, "ready", ("L1",), now=5 * 60_000)
    again, _ = dishflow.move(ready, "recall", ("L1",), now=6 * 60_000)
    assert not again.lines[0].overdue
    assert dishflow.overdue_lines(again, now=6 * 60_000 + 61_000) == ("L1",)
