"""One client connection: its token, its channels, and a byte-bounded way to write to it.

Frames are written straight to the connection's transport (see :mod:`hub.frames`); the
transport's write buffer *is* the send buffer. Nothing here ever awaits: when the buffer grows
past the limit the connection is handed to ``on_slow`` and gets nothing more.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from hub import frames
from kitchen.tokens import Claims

OPEN = State.OPEN


class Conn:
    __slots__ = ("allowance", "channels", "claims", "closing", "errors", "fmt", "id", "limit",
                 "mark", "on_slow", "peak", "pending", "ping", "proto", "screen", "since", "slot",
                 "sock", "transport", "ws")

    def __init__(self, ws: ServerConnection, conn_id: str, claims: Claims, fmt: int,
                 limit: int, on_slow: Callable[[Conn], None], screen: str | None = None) -> None:
        self.ws = ws
        self.id = conn_id
        self.claims = claims
        self.fmt = fmt
        self.limit = limit
        self.on_slow = on_slow
        self.screen = screen
        self.transport: asyncio.WriteTransport = ws.transport
        self.proto = ws.protocol
        sock = getattr(self.transport, "_sock", None)  # a plain selector transport's socket
        self.sock: socket.socket | None = sock if isinstance(sock, socket.socket) else None
        self.channels: set[str] = set()
        # channel → the log position after which this connection got every event of it
        self.since: dict[str, tuple[int, int]] = {}
        self.pending: list[bytes] = []
        self.mark = 0  # the fan-out's last event number, so each event goes out once
        self.allowance = 0  # extra bytes tolerated while a replay drains
        self.errors = 0
        self.closing = False
        self.peak = 0
        self.slot = 0  # which round of the hub's keepalive sweep pings this connection
        self.ping: asyncio.Future[Awaitable[float]] | None = None  # the last ping sent

    def __repr__(self) -> str:
        return f"<Conn {self.id} {self.claims.role}>"

    @property
    def is_open(self) -> bool:
        return not self.closing and self.proto.state is OPEN

    def restaurants(self) -> set[str]:
        return {name.split(":")[1] for name in self.channels}

    def send(self, obj: Mapping[str, Any]) -> bool:
        return self.write(frames.encode(obj, self.fmt))

    def write(self, data: bytes) -> bool:
        if self.closing or self.proto.state is not OPEN:
            return False
        transport = self.transport
        if self.sock is not None and not transport.get_write_buffer_size():
            # Nothing queued: send now, as transport.write() would, without its checks and
            # calls (about 1.5 of the 5 µs a write costs here); the rest, if any, is buffered.
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # transport.write() meets the error again and closes the transport
            if sent == len(data):
                self.allowance = 0
                return True
            data = data[sent:]
        transport.write(data)
        size = transport.get_write_buffer_size()
        if size > self.peak:
            self.peak = size
        if size > self.limit + self.allowance:
            self.closing = True
            self.on_slow(self)
            return False
        if size <= self.limit:
            self.allowance = 0
        return True
