"""Server frames: the bytes each connection gets are valid WebSocket frames, built once."""

from __future__ import annotations

import json

import msgpack
import pytest
from websockets.frames import Frame, Opcode

from hub import frames, protocol
from hub.protocol import ProtocolError
from kitchen.codec import Envelope


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 100_000])
def test_ws_frame_matches_the_websockets_serializer(size: int) -> None:
    """Our unmasked frame header is byte-for-byte what websockets itself would write."""
    payload = b"x" * size
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert frames.ws_frame(payload, frames.OP_TEXT) == expected


def test_event_frame_is_the_codec_json_with_an_op() -> None:
    """An event frame carries op=event and the codec's JSON fields, including pos."""
    env = Envelope("order.placed", 1, "e1", "r1", 5, {"order": {"no": 3}})
    raw = frames.event(env, "7-0", protocol.JSON)
    assert raw[0] == 0x81
    body = json.loads(raw[2:])
    assert body == {"op": "event", "type": "order.placed", "v": 1, "id": "e1",
                    "restaurant_id": "r1", "ts": 5, "pos": "7-0", "data": {"order": {"no": 3}}}


def test_msgpack_frames_are_binary() -> None:
    """In msgpack mode a frame is a binary frame holding the same map."""
    raw = frames.encode(frames.pong("p"), protocol.MSGPACK)
    assert raw[0] == 0x82
    assert msgpack.unpackb(raw[2:])["op"] == "pong"


def test_error_frame_names_code_channel_and_temporariness() -> None:
    """An error frame tells the code, the reason, the request and whether to retry."""
    err = ProtocolError("forbidden", "no", request_id="1", channel="expo:r2")
    assert frames.error(err) == {"op": "error", "id": "1", "code": "forbidden", "reason": "no",
                                 "temporary": False, "channel": "expo:r2"}


def test_ack_lists_positions_per_restaurant() -> None:
    """An ack carries, per restaurant, the position and epoch to resume from later."""
    got = frames.ack("1", ["expo:r1"], {"r1": ("9-0", "ep")}, {"r1": 2})
    assert got["positions"] == {"r1": {"pos": "9-0", "epoch": "ep"}}
    assert got["replayed"] == {"r1": 2}
