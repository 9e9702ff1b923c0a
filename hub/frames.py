"""Server frames: plain data → bytes on the wire (pure).

Server-to-client WebSocket frames are never masked and the hub negotiates no extension, so a
frame's bytes are the same for every connection: each event is turned into a finished
WebSocket frame once per wire format and that one ``bytes`` object is written to every
subscriber's transport.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Mapping
from typing import Any

from hub.protocol import JSON, ProtocolError
from kitchen import codec
from kitchen.codec import Envelope

OP_TEXT = 0x1
OP_BINARY = 0x2


def ws_frame(payload: bytes, opcode: int) -> bytes:
    """One final, unmasked WebSocket frame (RFC 6455 §5.2)."""
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        head = struct.pack("!BB", first, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, 126, n)
    else:
        head = struct.pack("!BBQ", first, 127, n)
    return head + payload


def payload(obj: Mapping[str, Any], fmt: int) -> bytes:
    """A server frame's data → its bytes: JSON text or msgpack."""
    return codec.dumps(obj) if fmt == JSON else codec.pack(obj)


def encode(obj: Mapping[str, Any], fmt: int) -> bytes:
    """A server frame's data → a finished WebSocket frame in the connection's format."""
    return ws_frame(payload(obj, fmt), OP_TEXT if fmt == JSON else OP_BINARY)


def event(env: Envelope, pos: str, fmt: int) -> bytes:
    return encode({"op": "event", **codec.to_json_obj(env, pos)}, fmt)


def hello(conn_id: str, hub_id: str, role: str, restaurants: Iterable[str],
          limits: Mapping[str, int]) -> dict[str, Any]:
    return {"op": "hello", "conn": conn_id, "hub": hub_id, "role": role,
            "restaurants": list(restaurants), "limits": dict(limits)}


def ack(request_id: str | None, channels: Iterable[str],
        positions: Mapping[str, tuple[str, str]], replayed: Mapping[str, int]) -> dict[str, Any]:
    return {
        "op": "ack", "id": request_id, "channels": list(channels),
        "positions": {r: {"pos": p, "epoch": e} for r, (p, e) in positions.items()},
        "replayed": dict(replayed),
    }


def unsub_ack(request_id: str | None, channels: Iterable[str]) -> dict[str, Any]:
    return {"op": "ack", "id": request_id, "channels": list(channels), "unsubscribed": True}


def reload(request_id: str | None, restaurant_id: str, reason: str, epoch: str,
           channels: Iterable[str]) -> dict[str, Any]:
    return {"op": "reload", "id": request_id, "restaurant_id": restaurant_id,
            "reason": reason, "epoch": epoch, "channels": list(channels)}


def error(exc: ProtocolError) -> dict[str, Any]:
    body: dict[str, Any] = {"op": "error", "id": exc.request_id, "code": exc.code,
                            "reason": exc.reason, "temporary": exc.temporary}
    if exc.channel is not None:
        body["channel"] = exc.channel
    return body


def pong(request_id: str | None) -> dict[str, Any]:
    return {"op": "pong", "id": request_id, "ts": int(time.time() * 1000)}


def presence(restaurant_id: str, screens: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"op": "presence", "restaurant_id": restaurant_id, "screens": list(screens)}


def bye(reason: str, retry_ms: int) -> dict[str, Any]:
    return {"op": "bye", "reason": reason, "retry_ms": retry_ms}
