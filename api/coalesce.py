"""One write per answer: uvicorn's HTTP protocol with a response's head and body sent together.

uvicorn writes a response's head to the socket when the app sends ``http.response.start``
and its body when the app sends ``http.response.body``: two system calls, and on a busy
machine often two TCP segments, so the client is woken twice for one answer. Every answer
of this API is a whole body sent right after its head, in the same turn of the event loop.

:class:`Protocol` hands uvicorn a transport that holds a response head until the next write
and sends both as one; a head with nothing after it in the same turn (a streamed body still
being produced, ``100 Continue``) goes out at the end of that turn. Nothing is reordered:
every write, close or end of stream first sends what is held.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class Transport:
    """A transport that joins a response head to the write after it."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + bytes(data))
        elif isinstance(data, bytes) and data.startswith(b"HTTP/") and \
                data.endswith(b"\r\n\r\n"):
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send what is held (at the end of the turn it was written in)."""
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:  # reading, flow control, extra info
        return getattr(self._transport, name)


class Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over :class:`Transport` (``uvicorn.run(http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Transport(transport, self.loop))  # type: ignore[arg-type]
