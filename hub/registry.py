"""Which connections watch which channel (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hub.conn import Conn


class Registry:
    def __init__(self) -> None:
        self.subscribers: dict[str, set[Conn]] = {}
        self.conns: dict[str, Conn] = {}
        self.per_token: Counter[str] = Counter()  # token id (jti) → open connections

    def __len__(self) -> int:
        return len(self.conns)

    @property
    def subscriptions(self) -> int:
        return sum(len(c.channels) for c in self.conns.values())

    def connect(self, conn: Conn) -> None:
        if conn.id not in self.conns:
            self.per_token[conn.claims.jti] += 1
        self.conns[conn.id] = conn

    def add(self, conn: Conn, names: Iterable[str]) -> None:
        for name in names:
            if name not in conn.channels:
                conn.channels.add(name)
                self.subscribers.setdefault(name, set()).add(conn)

    def remove(self, conn: Conn, names: Iterable[str]) -> None:
        for name in names:
            if name in conn.channels:
                conn.channels.discard(name)
                conn.since.pop(name, None)
                subs = self.subscribers.get(name)
                if subs is not None:
                    subs.discard(conn)
                    if not subs:
                        del self.subscribers[name]

    def disconnect(self, conn: Conn) -> None:
        self.remove(conn, list(conn.channels))
        if self.conns.pop(conn.id, None) is not None:
            self.per_token[conn.claims.jti] -= 1
            if self.per_token[conn.claims.jti] <= 0:
                del self.per_token[conn.claims.jti]

    def of_token(self, jti: str) -> int:
        """How many connections this token holds open."""
        return self.per_token.get(jti, 0)

    def watching(self, name: str) -> set[Conn]:
        return self.subscribers.get(name, set())

    def of_restaurant(self, restaurant_id: str) -> list[Conn]:
        """Connections with at least one channel of the restaurant."""
        return [c for c in self.conns.values() if restaurant_id in c.restaurants()]
