"""Decoding stream entries: every role of a worker process shares one decoding of an entry."""

from __future__ import annotations

from kitchen import codec, events, keys
from workers.logged import decode
from workers.runner import Entry


def _entry(event: events.Event, entry_id: str = "1-0") -> Entry:
    return Entry(keys.log(event.restaurant_id), entry_id, {keys.STREAM_FIELD: codec.encode(event)})


def test_the_same_entry_read_by_two_roles_is_decoded_once() -> None:
    """A second role reading the same entry gets the same decoded event, not a new decoding."""
    event = events.StockChanged("r1", dish_id="d1", remaining=3)
    first, second = decode(_entry(event)), decode(_entry(event))
    assert first is second and first.event == event


def test_other_bytes_under_a_known_id_are_decoded_afresh() -> None:
    """Same stream and id but other bytes (a log recreated after data loss): not the cache."""
    old = decode(_entry(events.StockChanged("r1", dish_id="d1", remaining=3), "7-0"))
    new = decode(_entry(events.StockChanged("r1", dish_id="d1", remaining=0), "7-0"))
    assert (old.event.remaining, new.event.remaining) == (3, 0)  # type: ignore[attr-defined]
