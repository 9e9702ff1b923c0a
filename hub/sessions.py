"""The current session of each table, as far as this hub knows it (no I/O).

A diner token names the table session it was issued for; 清台, 转台 and 合桌 end that session.
The API refuses such a token at once. The hub learns each table's session from the events it
reads anyway (every table event carries the table's whole state) — or, for a table it has no
event of yet, from one read of the live state — and a phone of an ended session gets nothing
more of that table: its connection is closed and a new subscription is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
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


class Sessions:
    """Table → (current session, log position it was learned at)."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], tuple[str, Pos]] = {}

    def current(self, restaurant_id: str, table_no: str) -> str | None:
        known = self.tables.get((restaurant_id, table_no))
        return None if known is None else known[0]

    def learn(self, restaurant_id: str, table_no: str, session: str, at: Pos) -> bool:
        """Record the session as of log position ``at`` (older news is ignored); True when
        it differs from what was known."""
        old = self.tables.get((restaurant_id, table_no))
        if old is not None and old[1] > at:
            return False
        self.tables[(restaurant_id, table_no)] = (session, at)
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

    def forget(self, restaurant_id: str) -> None:
        """The restaurant's log was rebuilt: learn again."""
        for key in [k for k in self.tables if k[0] == restaurant_id]:
            del self.tables[key]
