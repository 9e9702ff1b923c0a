"""A WebSocket client for gevent: websockets' Sans-I/O protocol over a plain socket, driven
by the greenlet that reads.

``websockets.sync.client`` starts a thread per connection that reads the socket and hands
each message through a lock-guarded queue to the reader; under gevent that is a second
greenlet and two switches per frame. A load generator holding thousands of screens spends a
good part of its time there, so its screens read here instead: the caller's greenlet reads
the socket, feeds the protocol, answers pings as they arrive and returns each message.
:attr:`Connection.arrived` is when the bytes of the last message returned reached the
machine (the kernel's receive stamp, :mod:`loadtests.stamps`).
"""

from __future__ import annotations

import collections
import socket
import time

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from loadtests import stamps

READ_BYTES = 65_536
Message = bytes | str


class Connection:
    """One open WebSocket; :meth:`recv` and :meth:`send` from one greenlet at a time."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self.sock = sock
        self.protocol = protocol
        self._frames: collections.deque[Frame] = collections.deque()
        self._parts: list[bytes] = []
        self._opcode = Opcode.BINARY
        self.subprotocol: str | None = None
        self.eof = False
        self.stamped = stamps.enable(sock)
        self.arrived = 0.0  # when the last read's bytes arrived (wall clock, s)

    @classmethod
    def open(cls, url: str, *, subprotocols: tuple[str, ...] = (), timeout: float = 15.0,
             max_size: int = 2**22) -> Connection:
        """Connect and finish the opening handshake within ``timeout`` seconds."""
        uri = parse_uri(url)
        if uri.secure:
            raise ValueError("this client speaks ws:// only (the load tests' loopback)")
        deadline = time.monotonic() + timeout
        sock = socket.create_connection((uri.host, uri.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            protocol = ClientProtocol(uri, max_size=max_size,
                                      subprotocols=[Subprotocol(s) for s in subprotocols] or None)
            protocol.send_request(protocol.connect())
            conn = cls(sock, protocol)
            conn._flush()
            while True:
                events = conn._read(max(0.001, deadline - time.monotonic()))
                if events and isinstance(events[0], Response):
                    break
                if conn.eof or protocol.handshake_exc is not None:
                    raise protocol.handshake_exc or InvalidHandshake(
                        "the server closed the connection in the handshake")
            if protocol.handshake_exc is not None:
                raise protocol.handshake_exc
            conn.subprotocol = protocol.subprotocol
            conn._frames.extend(e for e in events[1:] if isinstance(e, Frame))
            return conn
        except BaseException:
            sock.close()
            raise

    # ------------------------------------------------------------------ the socket

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)
            else:  # the protocol is done with the stream: half-close it
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def _read(self, timeout: float | None) -> list[object]:
        """What one read of the socket brought (pongs and close replies already sent)."""
        self.sock.settimeout(timeout)
        data, self.arrived = stamps.recv(self.sock, READ_BYTES, self.stamped)
        if data:
            self.protocol.receive_data(data)
        else:
            self.eof = True
            self.protocol.receive_eof()
        self._flush()
        events: list[object] = self.protocol.events_received()
        return events

    # ------------------------------------------------------------------ messages

    def recv(self, timeout: float | None = None) -> Message:
        """The next whole text or binary message; raises ``ConnectionClosed`` once the
        connection is closed, ``TimeoutError`` after ``timeout`` seconds without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._frames:
                message = self._assemble(self._frames.popleft())
                if message is not None:
                    return message
            if self.protocol.state is State.CLOSED or self.eof:
                self.sock.close()
                raise self.protocol.close_exc
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("no message in time")
            events = self._read(left)
            self._frames.extend(e for e in events if isinstance(e, Frame))
            if self.protocol.close_expected() and not self._frames:
                self._read_close(left)

    def _read_close(self, timeout: float | None) -> None:
        """The server closed: read what is left, to its end of the stream."""
        try:
            while self.protocol.state is not State.CLOSED and not self.eof:
                self._read(2.0 if timeout is None else min(timeout, 2.0))
        except OSError:
            pass
        if self.protocol.state is not State.CLOSED:
            self.protocol.receive_eof()

    def _assemble(self, frame: Frame) -> Message | None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._opcode, self._parts = frame.opcode, [frame.data]
        elif frame.opcode is Opcode.CONT:
            self._parts.append(frame.data)
        else:
            return None  # ping, pong, close: the protocol has handled them
        if not frame.fin:
            return None
        data = b"".join(self._parts)
        self._parts = []
        return data.decode() if self._opcode is Opcode.TEXT else data

    def send(self, message: Message) -> None:
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        else:
            self.protocol.send_binary(message)
        self._flush()

    def close(self, timeout: float = 2.0, wait: bool = True) -> None:
        """The closing handshake, as far as the server answers within ``timeout``. Without
        ``wait`` the close frame is sent and the socket closed at once: for closing from
        another greenlet than the one reading (which then gets an ``OSError``)."""
        try:
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(1000)
                self._flush()
                if wait:
                    self._read_close(timeout)
        except OSError:
            pass
        finally:
            self.sock.close()
