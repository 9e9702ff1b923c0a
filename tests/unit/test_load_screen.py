"""The load generator's screens read the hub's msgpack frames exactly as msgpack does."""

from __future__ import annotations

import msgpack
import pytest

from hub import frames
from hub.protocol import MSGPACK
from kitchen import codec
from kitchen.events import OrderPlaced
from loadtests.screen import unpack
from tests.integration.hub_support import order


def test_an_event_frame_reads_as_msgpack_reads_it() -> None:
    env = codec.peek(codec.encode(OrderPlaced("r1", order(table="T1", station="wok", no=7,
                                                          note="少辣 no chili"))))
    raw = frames.payload({"op": "event", **codec.to_json_obj(env, "1700000000000-3")},
                         MSGPACK)
    got = unpack(raw)
    assert got == msgpack.unpackb(raw)
    assert got["data"]["order"]["lines"][0]["note"] == "少辣 no chili"
    assert got["pos"] == "1700000000000-3"


def test_keys_that_are_not_text_and_text_frames() -> None:
    raw = msgpack.packb({"op": "event", "data": {1: b"\x00", "f": 2.5, "n": None}})
    assert unpack(raw) == {"op": "event", "data": {1: b"\x00", "f": 2.5, "n": None}}
    with pytest.raises(ValueError):
        unpack('{"op": "event"}')  # a JSON frame on the msgpack subprotocol
    with pytest.raises(ValueError):
        unpack(b"\xc1")  # not msgpack
