"""The current session of each table, as far as this hub knows it (no I/O).

A diner token names the table session it was issued for; 清台, 转台 and 合桌 end that session.
The API refuses such a token at once. The hub learns each table's session from the events it
reads anyway (every table event carries the table's whole state) — or, for a table it has no
event of yet, from one read of the live state — and a phone of an ended session gets nothing
more of that table: its connection is closed and a new subscription is refused.

A phone that resumes replays only what happened at its table in its own session: each table
also has a *floor*, the log position its present session began at (the event that seated the
guests, or the last event that showed the table under another session). A phone resuming from
before it loads the table's snapshot instead (the hub answers ``reload``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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


class Sessions:
    """Table → (current session, log position it was learned at, floor or None: not known
    yet, found in the window when a phone first resumes)."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], tuple[str, Pos, Pos | None]] = {}

    def current(self, restaurant_id: str, table_no: str) -> str | None:
        known = self.tables.get((restaurant_id, table_no))
        return None if known is None else known[0]

    def learn(self, restaurant_id: str, table_no: str, session: str, at: Pos) -> bool:
        """Record the session as of log position ``at`` (older news is ignored); True when
        it differs from what was known."""
        old = self.tables.get((restaurant_id, table_no))
        if old is not None and old[1] > at:
            return False
        if old is None:  # seen for the first time: the session may have begun long before
            floor = None
        elif old[0] != session:  # this event began it
            floor = at
        else:
            floor = old[2]
        self.tables[(restaurant_id, table_no)] = (session, at, floor)
        return old is None or old[0] != session

    def from_event(self, env: Envelope, at: Pos) -> list[tuple[str, str]]:
        """Learn from the table states an event carries; the (table, session) pairs that
        changed."""
        changed = []
        for key in TABLE_KEYS:
            table = env.payload.get(key)
            if isinstance(table, dict) and "no" in table:
                no, session = str(table["no"]), session_of(table)
                if self.learn(env.restaurant_id, no, session, at):
                    changed.append((no, session))
        return changed

    def allows(self, claims: Claims, restaurant_id: str, table_no: str) -> bool:
        """A diner token watches its table only while its session is the table's (or while
        this hub does not know the table's session)."""
        if claims.role != "diner":
            return True
        current = self.current(restaurant_id, table_no)
        return current is None or (bool(claims.session) and current == claims.session)

    def floor(self, restaurant_id: str, table_no: str,
              history: Callable[[], Iterable[tuple[Pos, Envelope]]], start: Pos) -> Pos:
        """Where the table's present session began, as far as a phone may replay from.
        Unknown until now: the newest event of ``history`` (the window's events that reach
        the table, newest first) that showed the table under another session, else
        ``start`` (the window's beginning: nothing older can be replayed anyway)."""
        known = self.tables.get((restaurant_id, table_no))
        if known is None:
            return start
        session, at, floor = known
        if floor is None:
            floor = start
            for pos, env in history():
                if pos <= at and sessions_shown(env, table_no) - {session}:
                    floor = pos
                    break
            self.tables[(restaurant_id, table_no)] = (session, at, floor)
        return floor

    def forget(self, restaurant_id: str) -> None:
        """The restaurant's log was rebuilt: learn again."""
        for key in [k for k in self.tables if k[0] == restaurant_id]:
            del self.tables[key]
