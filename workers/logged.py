"""Stream entries decoded into events, with their place in the log."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from kitchen import codec
from kitchen.codec import Envelope
from kitchen.errors import CodecError
from kitchen.events import Event
from workers.runner import Entry, stream_id


@dataclass(frozen=True)
class Logged:
    """One event of a restaurant's log: the typed event, its envelope and its stream id."""

    event: Event
    envelope: Envelope
    stream_id: str

    @property
    def position(self) -> tuple[int, int]:
        return stream_id(self.stream_id)


class _Recent:
    """The last entries decoded in this process: every role of a worker process reads the
    same entries through its own group, and decoding is most of what a role spends on one.
    Keyed by stream and id, checked against the bytes (events are immutable)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, str], tuple[bytes, Logged]] = OrderedDict()

    def get(self, entry: Entry) -> Logged | None:
        hit = self.items.get((entry.stream, entry.id))
        return hit[1] if hit is not None and hit[0] == entry.raw else None

    def put(self, entry: Entry, logged: Logged) -> None:
        self.items[(entry.stream, entry.id)] = (entry.raw, logged)
        if len(self.items) > self.size:
            self.items.popitem(last=False)


_RECENT = _Recent()


def decode(entry: Entry) -> Logged:
    """The event of ``entry``; :class:`CodecError` if it is missing, broken or not this log's."""
    logged = _RECENT.get(entry)
    if logged is None:
        logged = _decode(entry)
        _RECENT.put(entry, logged)
    return logged


def _decode(entry: Entry) -> Logged:
    if not entry.raw:
        raise CodecError(f"entry {entry.id} of {entry.stream} has no event field")
    env = codec.peek(entry.raw)
    if env.restaurant_id != entry.restaurant_id:
        raise CodecError(f"event {env.id} of restaurant {env.restaurant_id!r} is in the log of "
                         f"{entry.restaurant_id!r}")
    return Logged(codec.from_envelope(env), env, entry.id)


def decode_all(entries: Sequence[Entry]) -> list[Logged]:
    """Every entry decoded, in log order (per restaurant)."""
    return sorted((decode(e) for e in entries),
                  key=lambda x: (x.event.restaurant_id, x.position))
