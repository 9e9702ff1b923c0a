"""The current session of each table, as far as this hub knows it (no I/O).

A diner token names the table session it was issued for; 清台, 转台 and 合桌 end that session.
The API refuses such a token at once. The hub learns each table's session from the events it
reads anyway (every table event carries the table's whole state) — or, for a table it has no
event of yet, from one read of the live state — and a phone of an ended session gets nothing
more of that table: its connection is closed and a new subscription is refused.

A phone that resumes replays only what happened at its table in its own session: each table
also has a *floor*, the log position its present session began at (the event that seated the
guests, or the last event that showed the table under another session). A phone resuming from
before it loads the table's snapshot instead (the hub answers ``reload``). And an order that
is not of the table's present session (the kitchen finishing the dishes of guests who paid and
left) no longer reaches the phones at that table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kitchen.codec import Envelope
from kitchen.tokens import Claims

Pos = tuple[int, int]
TABLE_KEYS = ("table", "source", "target")


def session_of(table: Mapping[str, Any]) -> str:
    """The session a table state stands for: none ("") once the table is free."""
    if table.get("status", "free") == "free":
        return ""
    return str(table.get("session", ""))


def sessions_shown(env: Envelope, table_no: str) -> set[str]:
    """The sessions an event shows table ``table_no`` under (the table states it carries)."""
    return {session_of(t) for key in TABLE_KEYS
            if isinstance(t := env.payload.get(key), dict) and str(t.get("no")) == table_no}


@dataclass(slots=True)
class Seen:
    """What this hub knows of one table."""

    session: str  # the present session ("" while the table is free)
    at: Pos  # the log position it was learned at
    floor: Pos | None  # where the session began (None: not known yet, see Sessions.floor)
    orders: frozenset[str]  # the table's orders, as its state last showed them


class Sessions:
    """Table → what this hub knows of its present session."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], Seen] = {}

    def current(self, restaurant_id: str, table_no: str) -> str | None:
        known = self.tables.get((restaurant_id, table_no))
        return None if known is None else known.session

    def learn(self, restaurant_id: str, table_no: str, session: str, at: Pos,
              orders: Iterable[str] = ()) -> bool:
        """Record the session (and the table's orders) as of log position ``at`` (older news
        is ignored); True when the session differs from what was known."""
        old = self.tables.get((restaurant_id, table_no))
        if old is not None and old.at > at:
            return False
        if old is None:  # seen for the first time: the session may have begun long before
            floor = None
        elif old.session != session:  # this event began it
            floor = at
        else:
            floor = old.floor
        self.tables[(restaurant_id, table_no)] = Seen(session, at, floor, frozenset(orders))
        return old is None or old.session != session

    def learn_state(self, restaurant_id: str, table: Mapping[str, Any], at: Pos) -> bool:
        """:meth:`learn` from a table's whole state."""
        return self.learn(restaurant_id, str(table["no"]), session_of(table), at,
                          (str(o) for o in table.get("order_ids", ())))

    def from_event(self, env: Envelope, at: Pos) -> list[tuple[str, str]]:
        """Learn from the table states an event carries; the (table, session) pairs that
        changed."""
        changed = []
        for key in TABLE_KEYS:
            table = env.payload.get(key)
            if isinstance(table, dict) and "no" in table:
                if self.learn_state(env.restaurant_id, table, at):
                    changed.append((str(table["no"]), session_of(table)))
        return changed

    def allows(self, claims: Claims, restaurant_id: str, table_no: str) -> bool:
        """A diner token watches its table only while its session is the table's (or while
        this hub does not know the table's session)."""
        if claims.role != "diner":
            return True
        current = self.current(restaurant_id, table_no)
        return current is None or (bool(claims.session) and current == claims.session)

    def foreign(self, env: Envelope) -> str | None:
        """The table an event's order is at when that order is not of the table's present
        session (placed under another one, and not moved in by 转台 or 合桌), else None."""
        order = env.payload.get("order")
        if not isinstance(order, dict):
            return None
        table_no = str(order.get("table_no", ""))
        known = self.tables.get((env.restaurant_id, table_no))
        if known is None or order.get("session_id") == known.session \
                or order.get("id") in known.orders:
            return None
        return table_no

    def floor(self, restaurant_id: str, table_no: str,
              history: Callable[[], Iterable[tuple[Pos, Envelope]]], start: Pos) -> Pos:
        """Where the table's present session began, as far as a phone may replay from.
        Unknown until now: the newest event of ``history`` (the window's events that reach
        the table, newest first) that showed the table under another session, else
        ``start`` (the window's beginning: nothing older can be replayed anyway)."""
        known = self.tables.get((restaurant_id, table_no))
        if known is None:
            return start
        if known.floor is None:
            known.floor = start
            for pos, env in history():
                if pos <= known.at and sessions_shown(env, table_no) - {known.session}:
                    known.floor = pos
                    break
        return known.floor

    def forget(self, restaurant_id: str) -> None:
        """The restaurant's log was rebuilt: learn again."""
        for key in [k for k in self.tables if k[0] == restaurant_id]:
            del self.tables[key]
