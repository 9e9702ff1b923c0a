"""An answer's head and body leave in one write; nothing is ever reordered or kept back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api.coalesce import Transport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    """What reaches the socket."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.eof = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def write_eof(self) -> None:
        self.eof = True

    def pause_reading(self) -> None:
        self.paused = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name == "sockname" else default


def _pair() -> tuple[Transport, Recorder]:
    rec = Recorder()
    return Transport(rec, asyncio.get_running_loop()), rec  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_head_and_body_go_out_as_one_write() -> None:
    t, rec = _pair()
    t.write(HEAD)
    assert rec.writes == []  # held for the body
    t.write(b"{}")
    assert rec.writes == [HEAD + b"{}"]
    await asyncio.sleep(0)
    assert rec.writes == [HEAD + b"{}"]  # nothing sent twice


@pytest.mark.asyncio
async def test_a_head_alone_goes_out_at_the_end_of_its_turn() -> None:
    t, rec = _pair()
    t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    await asyncio.sleep(0)
    assert rec.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    t.write(b"chunk")  # a body streamed later is written as it comes
    assert rec.writes[-1] == b"chunk"


@pytest.mark.asyncio
async def test_close_and_end_of_stream_send_what_is_held_first() -> None:
    t, rec = _pair()
    t.write(HEAD)
    t.close()
    assert rec.writes == [HEAD] and rec.closed
    await asyncio.sleep(0)
    assert rec.writes == [HEAD]  # not again after the close

    t, rec = _pair()
    t.write(HEAD)
    t.write_eof()
    assert rec.writes == [HEAD] and rec.eof


@pytest.mark.asyncio
async def test_other_writes_and_calls_pass_straight_through() -> None:
    t, rec = _pair()
    t.write(b"not a head\r\n\r\n")
    t.write(bytearray(b"bytes"))
    assert rec.writes == [b"not a head\r\n\r\n", b"bytes"]
    t.pause_reading()
    assert rec.paused and t.get_extra_info("sockname") == ("127.0.0.1", 8000)
