"""The recent-event window: exact answers inside it, a refusal outside it."""

from __future__ import annotations

from hub.metrics import Histogram, Metrics
from hub.registry import Registry
from hub.window import Entry, Window
from kitchen import codec


def entry(ms: int, table: str = "T1") -> Entry:
    raw = codec.pack({"t": "cart.changed", "v": 1, "id": f"e{ms}", "r": "r1", "ts": ms,
                      "p": {"table_no": table, "items": []}})
    return Entry.of(f"{ms}-0", raw)


def window_of(size: int, *ms: int) -> Window:
    w = Window(size, "ep")
    w.fill(entry(m) for m in ms)
    return w


def test_since_returns_exactly_the_later_events_in_order() -> None:
    """Asked from a position inside the window, it returns every later event, in order."""
    w = window_of(10, 1, 2, 3, 4)
    assert [e.pos for e in w.since((2, 0)) or []] == ["3-0", "4-0"]
    assert w.since((4, 0)) == []


def test_a_window_from_the_start_answers_position_zero() -> None:
    """A window that holds the whole log can answer a client that saw nothing."""
    assert [e.pos for e in window_of(10, 1, 2).since((0, 0)) or []] == ["1-0", "2-0"]


def test_positions_before_the_window_cannot_be_answered() -> None:
    """Once events fell out of the window, a client that missed them gets None (reload)."""
    w = window_of(3, 1, 2, 3, 4, 5)
    assert w.floor == (2, 0)
    assert w.since((1, 0)) is None
    assert [e.pos for e in w.since((2, 0)) or []] == ["3-0", "4-0", "5-0"]


def test_positions_after_the_window_are_not_covered() -> None:
    """A position this window has not reached yet is not answered (the client waits or reloads)."""
    assert window_of(3, 1, 2).since((9, 0)) is None


def test_duplicate_and_older_entries_are_ignored() -> None:
    """The window only moves forward."""
    w = window_of(5, 1, 2)
    assert not w.append(entry(2))
    assert not w.append(entry(1))
    assert w.last_pos == "2-0"


def test_advance_moves_past_undecodable_entries() -> None:
    """A skipped entry still moves the window's position forward."""
    w = window_of(5, 1)
    w.advance((3, 0))
    assert w.last_pos == "3-0" and [e.pos for e in w.since((1, 0)) or []] == []


def test_each_entry_is_encoded_once_per_format() -> None:
    """The frame bytes of an entry are built once and then reused, also after it settled."""
    e = entry(1)
    assert e.frame(0) is e.frame(0)
    e.settle()
    assert e.decoded is None and e.frame(1) is e.frame(1) and e.frame(1) != e.frame(0)
    assert e.routes == frozenset({"all:r1", "table:r1:T1"})
    assert e.env.payload == {"table_no": "T1", "items": []}


def test_entries_of_one_window_share_equal_route_sets() -> None:
    """Events reaching the same channels hold one shared route set."""
    w = window_of(10, 1, 2)
    first, second = w.entries
    assert first.routes is second.routes


def test_histogram_counts_weighted_observations() -> None:
    """A lag observed for n deliveries counts n times."""
    h = Histogram((1, 10, 100))
    h.observe(5, 3)
    h.observe(50)
    assert h.count == 4 and h.quantile(0.5) == 10 and h.quantile(1.0) == 100


def test_metrics_render_in_prometheus_text() -> None:
    """Metrics render with HELP, TYPE and cumulative histogram buckets."""
    m = Metrics()
    m.gauges["hub_connections"] = lambda: 3
    m.lag.observe(3, 2)
    text = m.render()
    assert "hub_connections 3" in text
    assert 'hub_lag_ms_bucket{le="5"} 2' in text and "hub_lag_ms_count 2" in text


def test_empty_registry_has_no_watchers() -> None:
    """Nobody watches anything in an empty registry."""
    r = Registry()
    assert len(r) == 0 and r.watching("expo:r1") == set() and r.subscriptions == 0


def test_presence_entries_pack_like_the_codec() -> None:
    """The pre-packed presence entry decodes to the same map codec.pack would write."""
    from hub.presence import Presence
    from kitchen import codec
    from kitchen.tokens import Claims

    class FakeConn:
        id = "h/1"
        claims = Claims("station", ("r1",), station="wok", name="灶台")

    p = Presence(None, "hub-a", lambda r: False, lambda r, s: None)  # type: ignore[arg-type]
    conn = FakeConn()
    got = codec.unpack(p.packed(conn, 1234))  # type: ignore[arg-type]
    assert got == p.info(conn, 1234)  # type: ignore[arg-type]


def test_tail_command_is_the_xread_resp_array() -> None:
    """The incrementally built XREAD is the RESP array redis would get, ids in key order."""
    from hub.tail import Tail, field

    tail = Tail("redis://127.0.0.1:1/0", block_ms=1000, count=10)
    tail.follow(b"k:{a}:log", "0-0")
    tail.follow(b"k:{b}:log", "5-1")
    tail.follow(b"k:{a}:log", "7-0")
    parts = [b"XREAD", b"COUNT", b"10", b"BLOCK", b"1000", b"STREAMS",
             b"k:{a}:log", b"k:{b}:log", b"7-0", b"5-1"]
    assert tail.command() == b"*10\r\n" + b"".join(
        b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    assert field([b"x", b"1", b"e", b"2"], b"e") == b"2" and field([b"x", b"1"], b"e") is None
