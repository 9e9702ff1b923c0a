"""Stream entries decoded into events, with their place in the log."""

from __future__ import annotations

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


def decode(entry: Entry) -> Logged:
    """The event of ``entry``; :class:`CodecError` if it is missing, broken or not this log's."""
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
