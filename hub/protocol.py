"""The hub's wire protocol, without I/O: client requests, who may subscribe to what, codes.

A client sends small requests (JSON text frames, or msgpack binary frames):

    {"op": "sub",   "id": "1", "channels": [...], "from": {"R": {"pos": "...", "epoch": "..."}}}
    {"op": "unsub", "id": "2", "channels": [...]}
    {"op": "ping",  "id": "3"}

Everything the server sends is built by :mod:`hub.frames`. ``docs/protocol.md`` is the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kitchen import channels, codec
from kitchen.errors import CodecError, ForbiddenError, KitchenError
from kitchen.tokens import Claims

# --------------------------------------------------------------------------- subprotocols

JSON = 0
MSGPACK = 1
SUBPROTOCOLS = {"kitchen.json": JSON, "kitchen.msgpack": MSGPACK}
# A token may come as one more offered subprotocol, "kitchen.token.<token>" (never chosen):
# a header, which proxies do not write to their access logs as they do a URL's query.
TOKEN_PROTOCOL = "kitchen.token."


def token_offered(offered: str | None) -> str:
    """The token among the offered subprotocols (``Sec-WebSocket-Protocol``), or ""."""
    for item in (offered or "").split(","):
        item = item.strip()
        if item.startswith(TOKEN_PROTOCOL):
            return item[len(TOKEN_PROTOCOL):]
    return ""

# --------------------------------------------------------------------------- close codes

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # too many bad requests
CLOSE_TOO_BIG = 1009  # a client frame over MAX_FRAME_BYTES (sent by websockets itself)
CLOSE_KEEPALIVE = 1011  # a keepalive ping not answered in time
CLOSE_RESTART = 1012  # the hub is going away: reconnect (to any hub) and resume
CLOSE_UNAUTHORIZED = 4001  # token missing, malformed, expired or revoked: get a new one
CLOSE_SLOW = 4008  # send buffer overflowed: reconnect and resume from the last position
CLOSE_TOO_MANY = 4029  # too many connections with this token: retry later, with backoff

# --------------------------------------------------------------------------- limits

MAX_FRAME_BYTES = 4096
MAX_CHANNELS = 64  # per connection
MAX_CHANNEL_LEN = 160
MAX_ID_LEN = 64
MAX_ERRORS = 20  # bad requests per connection before it is closed with CLOSE_POLICY
MAX_SCREEN_LEN = 64
MAX_CONNECTIONS_PER_TOKEN = 8  # a tablet reloading its page, a merchant with a few tabs

_POS = re.compile(r"^\d{1,15}-\d{1,10}$")
_SCREEN = re.compile(r"^[\w.:-]{1,64}$")


class ProtocolError(KitchenError):
    """A request the hub refuses; the connection stays usable."""

    code = "bad_request"

    def __init__(self, code: str, reason: str, *, request_id: str | None = None,
                 channel: str | None = None, temporary: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.request_id = request_id
        self.channel = channel
        self.temporary = temporary


@dataclass(frozen=True)
class Resume:
    """Where a client stands in one restaurant's log."""

    pos: tuple[int, int]
    epoch: str


@dataclass(frozen=True)
class Subscribe:
    id: str | None
    channels: tuple[str, ...]
    resume: dict[str, Resume] = field(default_factory=dict)


@dataclass(frozen=True)
class Unsubscribe:
    id: str | None
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Ping:
    id: str | None


Request = Subscribe | Unsubscribe | Ping


# --------------------------------------------------------------------------- positions


def parse_pos(text: str) -> tuple[int, int]:
    """Stream id ``"1732000000000-3"`` → ``(1732000000000, 3)``; ValueError when malformed."""
    if not isinstance(text, str) or not _POS.match(text):
        raise ValueError(f"malformed position {text!r}")
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


def format_pos(key: tuple[int, int]) -> str:
    return f"{key[0]}-{key[1]}"


# --------------------------------------------------------------------------- requests


def decode(raw: str | bytes) -> Any:
    """A client frame → plain data: text is JSON, binary is msgpack."""
    try:
        return codec.loads(raw) if isinstance(raw, str) else codec.unpack(raw)
    except CodecError as exc:
        raise ProtocolError("bad_encoding", str(exc)) from exc
    except RecursionError as exc:  # "[[[[…" fits in one frame and is valid JSON up to a depth
        raise ProtocolError("bad_encoding", "the frame is nested too deeply") from exc


def parse(raw: str | bytes) -> Request:
    """Decode and validate one client frame."""
    return parse_obj(decode(raw))


def parse_obj(obj: Any) -> Request:
    if not isinstance(obj, dict):
        raise ProtocolError("bad_request", "a request is an object with an 'op'")
    rid = _request_id(obj.get("id"))
    op = obj.get("op")
    if op == "sub":
        return Subscribe(rid, _channel_list(obj, rid), _resume_map(obj.get("from"), rid))
    if op == "unsub":
        return Unsubscribe(rid, _channel_list(obj, rid))
    if op == "ping":
        return Ping(rid)
    raise ProtocolError("unknown_op", f"unknown op {op!r}", request_id=rid)


def _request_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProtocolError("bad_request", "'id' must be a string or an integer")
    text = str(value)
    if len(text) > MAX_ID_LEN:
        raise ProtocolError("bad_request", f"'id' is longer than {MAX_ID_LEN}")
    return text


def _channel_list(obj: dict[str, Any], rid: str | None) -> tuple[str, ...]:
    value = obj.get("channels")
    if not isinstance(value, list) or not value:
        raise ProtocolError("bad_request", "'channels' must be a non-empty list", request_id=rid)
    if len(value) > MAX_CHANNELS:
        raise ProtocolError("too_many_channels", f"at most {MAX_CHANNELS} channels",
                            request_id=rid)
    out: list[str] = []
    for name in value:
        if not isinstance(name, str) or len(name) > MAX_CHANNEL_LEN:
            raise ProtocolError("bad_channel", "a channel is a short string", request_id=rid)
        try:
            channels.parse(name)
        except ValueError as exc:
            raise ProtocolError("bad_channel", str(exc), request_id=rid, channel=name) from exc
        if name not in out:
            out.append(name)
    return tuple(out)


def _resume_map(value: Any, rid: str | None) -> dict[str, Resume]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_CHANNELS:
        raise ProtocolError("bad_request", "'from' maps restaurant ids to {pos, epoch}",
                            request_id=rid)
    out: dict[str, Resume] = {}
    for restaurant, where in value.items():
        if not isinstance(restaurant, str) or not isinstance(where, dict):
            raise ProtocolError("bad_request", "'from' maps restaurant ids to {pos, epoch}",
                                request_id=rid)
        epoch = where.get("epoch")
        if not isinstance(epoch, str) or len(epoch) > MAX_ID_LEN:
            raise ProtocolError("bad_request", "'epoch' must be a string", request_id=rid)
        try:
            out[restaurant] = Resume(parse_pos(where.get("pos")), epoch)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ProtocolError("bad_position", str(exc), request_id=rid) from exc
    return out


def screen_id(value: str | None) -> str | None:
    """The ``screen`` query parameter, if it is a sane identifier."""
    if value is None or not _SCREEN.match(value):
        return None
    return value


# --------------------------------------------------------------------------- authorisation

_ROLE_KINDS = {
    "diner": frozenset({"table", "menu"}),
    "station": frozenset({"station", "menu"}),
    "expo": frozenset({"expo", "station", "menu"}),
    "merchant": frozenset(channels.KINDS),
    "qr": frozenset(),
}


def may_subscribe(claims: Claims, channel: str) -> bool:
    """Whether a token may watch a channel (the channel must be well formed)."""
    kind, restaurant, sub = channels.parse(channel)
    if restaurant not in claims.restaurants or kind not in _ROLE_KINDS.get(claims.role, ()):
        return False
    if claims.role == "diner" and kind == "table":
        return restaurant == claims.restaurant and sub == claims.table and bool(claims.table)
    if claims.role == "station" and kind == "station":
        return sub == claims.station and bool(claims.station)
    return True


def authorise(claims: Claims, channel: str, request_id: str | None = None) -> None:
    """Raise ProtocolError("forbidden") unless ``claims`` may subscribe to ``channel``."""
    try:
        allowed = may_subscribe(claims, channel)
    except ValueError as exc:
        raise ProtocolError("bad_channel", str(exc), request_id=request_id,
                            channel=channel) from exc
    if not allowed:
        raise ProtocolError("forbidden", f"a {claims.role} token may not watch {channel}",
                            request_id=request_id, channel=channel)


def error_of(exc: KitchenError, request_id: str | None = None) -> ProtocolError:
    """Any deliberate error → the ProtocolError the client sees."""
    if isinstance(exc, ProtocolError):
        return exc
    code = "forbidden" if isinstance(exc, ForbiddenError) else exc.code
    return ProtocolError(code, exc.reason, request_id=request_id, temporary=exc.temporary)
