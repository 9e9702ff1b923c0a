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
from kitchen import channels, codec
from kitchen.codec import Envelope

ZERO = (0, 0)
ROUTE_SETS = 4096  # distinct route sets shared per window before the cache starts over


@dataclass(slots=True, eq=False)
class Entry:
    """One event of the log: its stream bytes, the channels it reaches, and its wire frames,
    each built at most once. The decoded envelope is kept only while the event is fresh:
    :meth:`settle` drops it, since a window of decoded orders takes 2.5 times the memory of
    their bytes and frames."""

    pos: str
    key: tuple[int, int]
    raw: bytes
    routes: frozenset[str]
    decoded: Envelope | None = None
    wire: list[bytes | None] = field(default_factory=lambda: [None, None])

    @classmethod
    def of(cls, pos: str, raw: bytes) -> Entry:
        """Decode the stream bytes (CodecError when they are not an event)."""
        env = codec.peek(raw)
        return cls(pos, parse_pos(pos), raw, channels.route(env), env)

    @property
    def env(self) -> Envelope:
        return self.decoded if self.decoded is not None else codec.peek(self.raw)

    def settle(self) -> None:
        self.decoded = None

    def frame(self, fmt: int) -> bytes:
        data = self.wire[fmt]
        if data is None:
            data = self.wire[fmt] = frames.event(self.env, self.pos, fmt)
        return data


class Window:
    """Bounded, ordered recent events of one restaurant's log."""

    def __init__(self, size: int, epoch: str, floor: tuple[int, int] = ZERO) -> None:
        self.size = size
        self.epoch = epoch
        self.floor = floor
        self.last = floor
        self.entries: deque[Entry] = deque()
        self._routes: dict[frozenset[str], frozenset[str]] = {}  # one object per route set

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
        if len(self._routes) > ROUTE_SETS:
            self._routes.clear()
        entry.routes = self._routes.setdefault(entry.routes, entry.routes)
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
