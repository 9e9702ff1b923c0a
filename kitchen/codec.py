"""The one place where events become bytes and bytes become events.

Inside Redis an event is msgpack: ``{"t": type, "v": version, "id", "r", "ts", "p": payload}``.
Browsers get JSON with the same fields spelled out plus ``pos``, the event's position in its
restaurant's log. Decoding an unknown type, a newer version or broken bytes raises
:class:`~kitchen.errors.CodecError`.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgpack
import orjson

from kitchen.errors import CodecError
from kitchen.events import EVENT_TYPES, Event
from kitchen.frozen import quick_init

BASE_FIELDS = frozenset({"id", "restaurant_id", "ts"})


@quick_init
@dataclass(frozen=True)
class Envelope:
    """An event decoded only as far as plain data: cheap, for routing and fan-out."""

    type: str
    version: int
    id: str
    restaurant_id: str
    ts: int
    payload: dict[str, Any]


class _Packers(threading.local):
    """One reusable msgpack packer of each flavour per thread: ``msgpack.packb`` builds (and
    allocates a buffer for) a new packer on every call."""

    def __init__(self) -> None:
        self.bin = msgpack.Packer(use_bin_type=True, autoreset=True)
        self.lua = msgpack.Packer(use_bin_type=False, autoreset=True)


_packers = _Packers()


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


_PAYLOAD_FIELDS: dict[type, tuple[str, ...]] = {}


def _payload_fields(cls: type[Event]) -> tuple[str, ...]:
    got = _PAYLOAD_FIELDS.get(cls)
    if got is None:
        got = _PAYLOAD_FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in BASE_FIELDS)
    return got


Known = Mapping[int, tuple[Any, Any]]  # id(object) → (the object, its plain form)


def payload_of(event: Event, known: Known | None = None) -> dict[str, Any]:
    """The event's fields as plain data. ``known``: plain forms already made (an order its
    command has just turned into a dict), each with the object it was made from."""
    out = {}
    for name in _payload_fields(type(event)):
        value = getattr(event, name)
        made = known.get(id(value)) if known else None
        out[name] = made[1] if made is not None and made[0] is value else _plain(value)
    return out


def encode(event: Event, known: Known | None = None, packed: Packed | None = None) -> bytes:
    """Event → msgpack bytes for the stream. ``packed``: see :func:`pack_reusing`."""
    envelope = {
        "t": event.type,
        "v": event.version,
        "id": event.id,
        "r": event.restaurant_id,
        "ts": event.ts,
        "p": payload_of(event, known),
    }
    return pack_reusing(envelope, packed) if packed else pack(envelope)


def peek(raw: bytes) -> Envelope:
    """msgpack bytes → :class:`Envelope`, without building model objects."""
    try:
        d = msgpack.unpackb(raw, raw=False)
        env = Envelope(str(d["t"]), int(d["v"]), str(d["id"]), str(d["r"]), int(d["ts"]), d["p"])
    except (ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(f"broken event bytes: {exc}") from exc
    if not isinstance(env.payload, dict):
        raise CodecError("broken event: payload is not a map")
    return env


@cache
def _hints(type_tag: str) -> dict[str, Any]:
    return typing.get_type_hints(EVENT_TYPES[type_tag])


def _revive(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(hint)
        return tuple(_revive(inner, v) for v in value)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = next(a for a in typing.get_args(hint) if a is not type(None))
        return _revive(inner, value)
    if isinstance(hint, type) and hasattr(hint, "from_dict"):
        return hint.from_dict(value)
    if hint is int:
        return int(value)
    if hint is bool:
        return bool(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"expected text, got {type(value).__name__}")
        return value
    return value


def from_envelope(env: Envelope) -> Event:
    cls = EVENT_TYPES.get(env.type)
    if cls is None:
        raise CodecError(f"unknown event type {env.type!r}")
    if env.version > cls.version:
        raise CodecError(f"event {env.type!r} version {env.version} is newer than {cls.version}")
    hints = _hints(env.type)
    try:
        payload = env.payload
        kwargs = {name: _revive(hints[name], payload[name])
                  for name in _payload_fields(cls) if name in payload}
        return cls(restaurant_id=env.restaurant_id, id=env.id, ts=env.ts, **kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"broken {env.type!r} event {env.id}: {exc!r}") from exc


def decode(raw: bytes) -> Event:
    """msgpack bytes → the typed event."""
    return from_envelope(peek(raw))


def to_json_obj(env: Envelope, pos: str) -> dict[str, Any]:
    return {
        "type": env.type,
        "v": env.version,
        "id": env.id,
        "restaurant_id": env.restaurant_id,
        "ts": env.ts,
        "pos": pos,
        "data": env.payload,
    }


def dumps(obj: Any) -> bytes:
    """Plain data → compact UTF-8 JSON (Chinese kept as text)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses (integers past 64 bits) the json module writes
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def loads(raw: bytes | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # what orjson refuses (integers past 64 bits, NaN) the json module may read
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CodecError(f"malformed JSON: {exc}") from exc


def pack(obj: Any) -> bytes:
    """Plain data → msgpack (live state blobs, frames)."""
    packed: bytes = _packers.bin.pack(obj)
    return packed


Packed = Mapping[int, tuple[Any, bytes]]  # id(plain form) → (the form, its msgpack)

_FIXMAP = [bytes([0x80 | n]) for n in range(16)]  # msgpack's header of a map of n < 16


def pack_reusing(obj: Any, packed: Packed, depth: int = 2) -> bytes:
    """``pack(obj)``, with the bytes already made for a dict inside it (an order a command
    has just stored, now in its event and its answer too) reused instead of packed again.
    Looks ``depth`` levels of small dicts down; the same bytes as ``pack`` would make."""
    made = packed.get(id(obj))
    if made is not None and made[0] is obj:
        return made[1]
    if depth == 0 or type(obj) is not dict or len(obj) >= 16:
        return pack(obj)
    out: list[bytes] = [_FIXMAP[len(obj)]]
    run: dict[Any, Any] = {}
    for key, value in obj.items():
        if type(value) is dict:
            if run:
                out.append(pack(run)[1:])  # the entries so far, without their map's header
                run = {}
            out.append(pack(key))
            out.append(pack_reusing(value, packed, depth - 1))
        else:
            run[key] = value
    if run:
        out.append(pack(run)[1:])
    return b"".join(out)


def pack_for_lua(obj: Any) -> bytes:
    """msgpack in the older raw format, which Redis's Lua ``cmsgpack`` reads (no bin type)."""
    packed: bytes = _packers.lua.pack(obj)
    return packed


def unpack(raw: bytes) -> Any:
    try:
        return msgpack.unpackb(raw, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise CodecError(f"malformed msgpack: {exc}") from exc


def event_json(event: Event, pos: str) -> bytes:
    """A typed event as the JSON a browser receives."""
    env = Envelope(event.type, event.version, event.id, event.restaurant_id, event.ts,
                   payload_of(event))
    return dumps(to_json_obj(env, pos))
