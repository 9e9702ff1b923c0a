"""The hub's pure protocol: request parsing, limits, positions and who may watch what."""

from __future__ import annotations

import itertools

import msgpack
import pytest

from hub import protocol
from hub.protocol import Ping, ProtocolError, Resume, Subscribe, Unsubscribe
from kitchen.tokens import Claims

DINER = Claims("diner", ("r1",), table="T1", session="s1")
STATION = Claims("station", ("r1",), station="wok")
EXPO = Claims("expo", ("r1",))
MERCHANT = Claims("merchant", ("r1", "r2"))
QR = Claims("qr", ("r1",), table="T1")


def test_subscribe_request_is_parsed_with_its_resume_points() -> None:
    """A sub request yields its id, its channels (deduplicated) and per-restaurant positions."""
    got = protocol.parse(
        '{"op":"sub","id":7,"channels":["expo:r1","expo:r1","menu:r1"],'
        '"from":{"r1":{"pos":"1700000000000-2","epoch":"e1"}}}')
    assert got == Subscribe("7", ("expo:r1", "menu:r1"),
                            {"r1": Resume((1700000000000, 2), "e1")})


def test_msgpack_binary_frames_are_understood() -> None:
    """A binary frame is read as msgpack with the same fields as JSON."""
    raw = msgpack.packb({"op": "unsub", "id": "a", "channels": ["board:r1"]})
    assert protocol.parse(raw) == Unsubscribe("a", ("board:r1",))


def test_ping_needs_no_id() -> None:
    """A ping without an id is still a ping."""
    assert protocol.parse('{"op":"ping"}') == Ping(None)


@pytest.mark.parametrize(("raw", "code"), [
    ("{not json", "bad_encoding"),
    (b"\xc1", "bad_encoding"),
    ("[1,2]", "bad_request"),
    ('{"op":"dance"}', "unknown_op"),
    ('{"op":"sub"}', "bad_request"),
    ('{"op":"sub","channels":[]}', "bad_request"),
    ('{"op":"sub","channels":"expo:r1"}', "bad_request"),
    ('{"op":"sub","channels":[1]}', "bad_channel"),
    ('{"op":"sub","channels":["kitchen:r1"]}', "bad_channel"),
    ('{"op":"sub","channels":["station:r1"]}', "bad_channel"),
    ('{"op":"sub","channels":["expo:r1"],"from":{"r1":{"pos":"abc","epoch":"e"}}}',
     "bad_position"),
    ('{"op":"sub","channels":["expo:r1"],"from":{"r1":{"pos":"1-0"}}}', "bad_request"),
    ('{"op":"sub","channels":["expo:r1"],"from":[1]}', "bad_request"),
    ('{"op":"ping","id":true}', "bad_request"),
    ('{"op":"ping","id":{"x":1}}', "bad_request"),
    ('{"op":"ping","id":"' + "x" * 65 + '"}', "bad_request"),
])
def test_malformed_requests_get_a_precise_code(raw: str | bytes, code: str) -> None:
    """Every malformed request raises a ProtocolError whose code says what is wrong."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse(raw)
    assert info.value.code == code


def test_error_keeps_the_request_id() -> None:
    """An unknown op is answered with the id the client gave, so it can match the reply."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse('{"op":"nope","id":"q9"}')
    assert info.value.request_id == "q9"


def test_too_many_channels_in_one_request_are_refused() -> None:
    """A request naming more than MAX_CHANNELS channels is refused as a whole."""
    names = [f"table:r1:{i}" for i in range(protocol.MAX_CHANNELS + 1)]
    with pytest.raises(ProtocolError) as info:
        protocol.parse_obj({"op": "sub", "channels": names})
    assert info.value.code == "too_many_channels"


def test_positions_round_trip_and_order_numerically() -> None:
    """Stream ids compare as (ms, seq) numbers, not as text."""
    assert protocol.parse_pos("9-1") < protocol.parse_pos("10-0")
    assert protocol.format_pos(protocol.parse_pos("1732-17")) == "1732-17"
    for bad in ("", "1", "1-", "-1", "a-b", "1-2-3", "1 -2"):
        with pytest.raises(ValueError):
            protocol.parse_pos(bad)


def test_screen_ids_are_sanitised() -> None:
    """Only short identifiers are accepted as screen names."""
    assert protocol.screen_id("wok-1") == "wok-1"
    assert protocol.screen_id("a b") is None
    assert protocol.screen_id("x" * 65) is None
    assert protocol.screen_id(None) is None


# --------------------------------------------------------------------------- authorisation

RESTAURANTS = ("r1", "r2")
KINDS = ("station", "expo", "table", "board", "menu", "all")
SUBS = {"station": ("wok", "grill"), "table": ("T1", "T2")}


def _all_channels() -> list[str]:
    out = []
    for kind, r in itertools.product(KINDS, RESTAURANTS):
        for sub in SUBS.get(kind, ("",)):
            out.append(f"{kind}:{r}:{sub}" if sub else f"{kind}:{r}")
    return out


ALLOWED = {
    "diner": {"table:r1:T1", "menu:r1"},
    "station": {"station:r1:wok", "menu:r1"},
    "expo": {"expo:r1", "station:r1:wok", "station:r1:grill", "menu:r1"},
    "merchant": set(_all_channels()),
    "qr": set(),
}
TOKENS = {"diner": DINER, "station": STATION, "expo": EXPO, "merchant": MERCHANT, "qr": QR}


@pytest.mark.parametrize(("role", "channel"), list(itertools.product(TOKENS, _all_channels())))
def test_every_role_may_watch_exactly_its_channels(role: str, channel: str) -> None:
    """For every role and every channel of two restaurants, the rule table decides."""
    allowed = channel in ALLOWED[role]
    assert protocol.may_subscribe(TOKENS[role], channel) is allowed
    if allowed:
        protocol.authorise(TOKENS[role], channel)
    else:
        with pytest.raises(ProtocolError) as info:
            protocol.authorise(TOKENS[role], channel, "r7")
        assert (info.value.code, info.value.channel, info.value.request_id) == (
            "forbidden", channel, "r7")


def test_merchant_of_one_restaurant_sees_nothing_of_another() -> None:
    """A merchant token for r1 is refused every channel of r2."""
    only_r1 = Claims("merchant", ("r1",))
    assert not any(protocol.may_subscribe(only_r1, c) for c in _all_channels() if ":r2" in c)


def test_tokens_without_their_scope_get_nothing_scoped() -> None:
    """A station token without a station, or a diner token without a table, get no such channel."""
    assert not protocol.may_subscribe(Claims("station", ("r1",)), "station:r1:wok")
    assert not protocol.may_subscribe(Claims("diner", ("r1",)), "table:r1:T1")


def test_diner_only_at_its_own_restaurant_table() -> None:
    """A diner token listing two restaurants still only gets its own (first) restaurant's table."""
    odd = Claims("diner", ("r1", "r2"), table="T1")
    assert protocol.may_subscribe(odd, "table:r1:T1")
    assert not protocol.may_subscribe(odd, "table:r2:T1")


def test_malformed_channel_is_a_bad_channel_not_forbidden() -> None:
    """authorise() tells a malformed channel from a forbidden one."""
    with pytest.raises(ProtocolError) as info:
        protocol.authorise(MERCHANT, "nope")
    assert info.value.code == "bad_channel"
