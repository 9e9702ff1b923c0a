"""The recent events of one restaurant, kept in memory to answer resumes (pure).

The window holds every event with ``floor < pos <= last``: a client whose position is at or
after ``floor`` (and not after ``last``) can be answered exactly; one before ``floor`` cannot,
and must reload. Each entry keeps its finished wire frames, built on first use.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub import frames
from hub.protocol import format_pos, parse_pos
from kitchen import channels
from kitchen.codec import Envelope

ZERO = (0, 0)


@dataclass(slots=True, eq=False)
class Entry:
    """One event of the log, decoded once, encoded at most once per wire format."""

    pos: str
    key: tuple[int, int]
    env: Envelope
    routes: frozenset[str]
    size: int = 0
    wire: list[bytes | None] = field(default_factory=lambda: [None, None])

    @classmethod
    def of(cls, pos: str, env: Envelope) -> Entry:
        return cls(pos, parse_pos(pos), env, channels.route(env))

    def frame(self, fmt: int) -> bytes:
        data = self.wire[fmt]
        if data is None:
            data = self.wire[fmt] = frames.event(self.env, self.pos, fmt)
            self.size = max(self.size, len(data))
        return data


class Window:
    """Bounded, ordered recent events of one restaurant's log."""

    def __init__(self, size: int, epoch: str, floor: tuple[int, int] = ZERO) -> None:
        self.size = size
        self.epoch = epoch
        self.floor = floor
        self.last = floor
        self.entries: deque[Entry] = deque()

    @property
    def last_pos(self) -> str:
        return format_pos(self.last)

    def fill(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.append(entry)

    def append(self, entry: Entry) -> bool:
        """Add the next event; False (and ignored) if it is not after ``last``."""
        if entry.key <= self.last:
            return False
        self.entries.append(entry)
        self.last = entry.key
        if len(self.entries) > self.size:
            self.floor = self.entries.popleft().key
        return True

    def advance(self, key: tuple[int, int]) -> None:
        """Nothing of interest exists up to ``key`` (e.g. an undecodable entry)."""
        self.last = max(self.last, key)

    def covers(self, key: tuple[int, int]) -> bool:
        return self.floor <= key <= self.last

    def since(self, key: tuple[int, int]) -> list[Entry] | None:
        """Every event after ``key`` in order, or None when the window cannot tell."""
        if not self.covers(key):
            return None
        out: list[Entry] = []
        for entry in reversed(self.entries):
            if entry.key <= key:
                break
            out.append(entry)
        out.reverse()
        return out
