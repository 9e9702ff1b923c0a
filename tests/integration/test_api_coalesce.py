"""The API's uvicorn protocol, served for real: each whole answer is one write to the
socket, streamed answers still stream, keep-alive and closes behave as uvicorn's own."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from api.coalesce import Protocol

pytestmark = pytest.mark.asyncio(loop_scope="session")

WRITES: list[bytes] = []


class Counted:
    """The socket's transport, counting what is written to it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountedProtocol(Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Counted(transport))  # type: ignore[arg-type]


async def order(request: Request) -> JSONResponse:
    return JSONResponse({"dish": request.path_params["dish"], "name": "麻婆豆腐"}, 201)


async def stream(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"part{n};".encode()
            await asyncio.sleep(0.01)
    return StreamingResponse(parts(), media_type="text/plain")


async def _serve() -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    app = Starlette(routes=[Route("/order/{dish}", order, methods=["POST"]),
                            Route("/stream", stream)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=CountedProtocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):  # at most 5 s
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    return server, task, sock.getsockname()[1]


async def _answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")]
    if length:
        return head, await reader.readexactly(int(length[0].split(b":")[1]))
    body = b""
    while True:  # chunked
        size = int((await reader.readline()).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return head, body
        body += chunk[:-2]


async def test_each_answer_is_one_write_and_streams_still_stream() -> None:
    server, task, port = await _serve()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        WRITES.clear()
        for dish in ("d1", "d2", "d3"):
            writer.write(f"POST /order/{dish} HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 2\r\n\r\n{}".encode())
            head, body = await _answer(reader)
            assert head.startswith(b"HTTP/1.1 201 ")
            assert body.decode() == f'{{"dish":"{dish}","name":"麻婆豆腐"}}'
        assert len(WRITES) == 3  # one per answer, head and body together
        assert all(w.startswith(b"HTTP/1.1 201 ") and w.endswith(b'"}') for w in WRITES)

        WRITES.clear()
        writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = await _answer(reader)
        assert body == b"part0;part1;part2;"
        assert len(WRITES) >= 3  # the parts went out as they came

        writer.write(b"POST /order/d4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Length: 0\r\n\r\n")
        head, body = await _answer(reader)
        assert b'"d4"' in body
        assert await reader.read() == b""  # closed after the answer, as asked
        writer.close()
    finally:
        server.should_exit = True
        await task
