"""uvicorn's HTTP protocol with a response's head and body sent in one write.

uvicorn writes the ASGI ``http.response.start`` message (status line and headers) and each
``http.response.body`` message to the socket as they come: two ``send`` system calls for
every small answer, each a full pass through the kernel's TCP stack. Here the connection's
writes go through :class:`Coalesced`, which holds a write while nothing else is held and
sends it with the next one, or at the end of the event loop's turn when no next one comes
(a streamed answer's head before a slow first chunk). So a whole answer leaves in one
system call, and nothing waits longer than the turn it was written in. The order of the
bytes, closing, flow control and the WebSocket upgrade are unchanged: a close or an upgrade
sends what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class Coalesced:
    """A transport whose writes of one turn of the event loop leave together."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._held = None
        self._transport.write(held + data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():  # the peer may have gone meanwhile
                self._transport.write(held)

    def writelines(self, lines: Any) -> None:
        self.flush()
        self._transport.writelines(lines)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()  # the upgrade's handshake answer goes before the new protocol's frames
        self._transport.set_protocol(protocol)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, ...
        return getattr(self._transport, name)


class CoalescingHttp(HttpToolsProtocol):
    """``uvicorn.run(..., http=CoalescingHttp)``: httptools, with :class:`Coalesced` writes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped: Any = Coalesced(transport, self.loop)
        super().connection_made(wrapped)
