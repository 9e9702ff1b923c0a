"""The API's HTTP protocol: an answer's head and body leave in one write, and nothing is
held back longer than the turn of the event loop it was written in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from api.wire import Coalesced, CoalescingHttp

WRITES: list[bytes] = []


class _Counting:
    """The socket's transport, recording what is written to it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountingHttp(CoalescingHttp):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        counted: Any = _Counting(transport)
        super().connection_made(counted)


async def _small(request: Request) -> JSONResponse:
    return JSONResponse({"dish": "宫保鸡丁"}, status_code=201)


async def _slow_stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first;"
        await asyncio.sleep(0.4)
        yield b"second"

    return StreamingResponse(chunks(), media_type="text/plain")


async def _echo(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("hello " + await ws.receive_text())
    await ws.close()


@pytest.fixture
async def server() -> AsyncIterator[int]:
    app = Starlette(routes=[Route("/small", _small, methods=["POST"]),
                            Route("/stream", _slow_stream), WebSocketRoute("/ws", _echo)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=CountingHttp, loop="none",
                            lifespan="off", log_level="warning")
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    for _ in range(500):
        if srv.started:
            break
        await asyncio.sleep(0.01)
    assert srv.started, "the server did not start within 5 s"
    yield srv.servers[0].sockets[0].getsockname()[1]
    srv.should_exit = True
    await task


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    return head, await reader.readexactly(length)


async def test_a_small_answer_leaves_in_one_write_and_keep_alive_still_works(
        server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    WRITES.clear()
    request = (b"POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n"
               b"content-type: application/json\r\n\r\n{}")
    for _ in range(3):  # one connection, three answers
        writer.write(request)
        head, body = await _read_answer(reader)
        assert head.startswith(b"HTTP/1.1 201 ")
        assert body.decode() == '{"dish":"宫保鸡丁"}'
    assert len(WRITES) == 3  # uvicorn alone writes each head and each body apart: six
    assert all(w.startswith(b"HTTP/1.1 201 ") and w.endswith(body) for w in WRITES)
    writer.write(request.replace(b"host: x\r\n", b"host: x\r\nconnection: close\r\n"))
    _, body = await _read_answer(reader)
    assert await reader.read() == b""  # the answer came whole, then the close
    writer.close()


async def test_a_streamed_head_is_not_held_until_a_slow_chunk(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    started = time.monotonic()
    writer.write(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    first = await reader.readuntil(b"first;\r\n")
    arrived = time.monotonic() - started
    rest = await reader.readuntil(b"0\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"first;" in first and b"second" in rest
    assert arrived < 0.3, f"the head and first chunk waited {arrived:.2f} s for the second"
    writer.close()


async def test_the_websocket_upgrade_still_works(server: int) -> None:
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{server}/ws") as ws:
        await ws.send("kitchen")
        assert await ws.recv() == "hello kitchen"


def test_what_is_held_for_a_connection_closed_meanwhile_is_dropped_quietly() -> None:
    """A streamed head held to the end of the turn, the peer gone before it: no write on a
    closed transport (uvloop, which the API runs on, raises in the loop's callback)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_closed_meanwhile())


async def _closed_meanwhile() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    transport: Any = writer.transport
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        coalesced = Coalesced(transport, loop)
        transport.close()  # the peer is gone: the loop has closed the connection ...
        await asyncio.sleep(0.05)
        coalesced.write(b"HTTP/1.1 200 OK\r\n\r\n")  # ... when a head is written, held
        await asyncio.sleep(0.05)  # the turn ends: the held head is dropped
        assert coalesced.get_write_buffer_size() == 0
        assert errors == []
    finally:
        loop.set_exception_handler(None)
        server.close()
        await server.wait_closed()
