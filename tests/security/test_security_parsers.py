"""Property tests of the pure parsers that meet hostile input first: whatever bytes or JSON
arrive, each refuses with its own domain error (a 4xx or an error frame), never anything else.
No servers: these run in milliseconds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub import protocol
from kitchen import channels, ordering, tokens
from kitchen.errors import AuthError, DomainError

SECRET = "parser-property-test-key-0123456789abcdef"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner,
                                                               max_size=6),
    max_leaves=30)
REQUEST_KEYS = st.sampled_from(["op", "id", "channels", "from", "pos", "epoch", "x"])
REQUESTS = st.dictionaries(REQUEST_KEYS, JSON | st.sampled_from(
    ["sub", "unsub", "ping", "expo:r1", ["expo:r1"], {"r1": {"pos": "1-1", "epoch": "e"}}]),
    max_size=5)
ITEM = st.dictionaries(st.sampled_from(["dish_id", "set_meal_id", "qty", "note", "course"]),
                       JSON | st.sampled_from(["d04", "s1", 1, 2, 21, -1, "x" * 101]),
                       max_size=5)
FAST = settings(max_examples=300, deadline=None, database=None)


@FAST
@given(st.binary(max_size=600) | st.text(max_size=600) | REQUESTS.map(json.dumps))
def test_hub_requests_are_parsed_or_refused_with_a_protocol_error(raw: bytes | str) -> None:
    """Any client frame parses into a request or raises ProtocolError with a code."""
    try:
        protocol.parse(raw)
    except protocol.ProtocolError as exc:
        assert exc.code and not exc.temporary


@FAST
@given(st.text(max_size=200))
def test_channel_names_are_parsed_or_refused(name: str) -> None:
    """A channel name parses into (kind, restaurant, sub) or raises ValueError."""
    try:
        kind, restaurant, _ = channels.parse(name)
    except ValueError:
        return
    assert kind in channels.KINDS and restaurant


@FAST
@given(JSON | st.lists(ITEM, max_size=35))
def test_order_items_are_parsed_or_refused_as_invalid_input(raw: Any) -> None:
    """Any ``items`` value becomes valid items or a DomainError naming the field."""
    try:
        items = ordering.parse_items(raw)
    except DomainError as exc:
        assert exc.status == 422 or exc.status == 404
        return
    assert 0 < len(items) <= ordering.MAX_ITEMS


@FAST
@given(st.text(max_size=300) | st.builds(lambda a, b: f"{a}.{b}", st.text(), st.text()))
def test_tokens_are_verified_or_refused_with_an_auth_error(raw: str) -> None:
    """Any string offered as a token is refused with AuthError (none is valid by chance)."""
    try:
        tokens.verify(raw, [SECRET])
    except AuthError:
        return
    raise AssertionError(f"{raw!r} was accepted")
