"""Cheap WebSocket clients for the hub benchmark: many raw asyncio connections per process.

Run by ``benchmarks/hub_bench.py``, one process per share of the connections:

    python -m benchmarks.hub_bench_clients KIND URL FIRST COUNT PER_ROOM

KIND is ``hub`` (this project's hub, JSON subprotocol) or ``sio`` (python-socketio over its
WebSocket transport). Connection i watches room ``expo:r{i // PER_ROOM}``. The process prints
``ready N`` once N connections are subscribed, then obeys lines on stdin: ``reset`` (zero the
counters), ``report`` (print one JSON line: deliveries, latency samples, own CPU), ``quit``.
Latency is now minus the publish time (µs) the publisher put in ``created_at``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import re
import resource
import struct
import sys
import time

from kitchen import tokens

SECRET = os.environ.get("KITCHEN_SECRET_KEYS", "bench-secret-0123456789abcdef0123456789")
STAMP = re.compile(rb'"created_at":(\d+)')
MAX_SAMPLES = 60_000


class Stats:
    def __init__(self) -> None:
        self.deliveries = 0
        self.samples: list[float] = []
        self.seen = 0
        self.closed = 0

    def event(self, payload: bytes) -> None:
        self.deliveries += 1
        self.seen += 1
        if len(self.samples) < MAX_SAMPLES or random.random() < MAX_SAMPLES / self.seen:
            m = STAMP.search(payload)
            if m:
                lag = time.time() * 1e6 - int(m.group(1))
                if len(self.samples) < MAX_SAMPLES:
                    self.samples.append(lag / 1000)
                else:
                    self.samples[random.randrange(MAX_SAMPLES)] = lag / 1000


def masked(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame (clients must mask)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


class Client(asyncio.Protocol):
    def __init__(self, kind: str, path: str, host: str, room: str, stats: Stats,
                 ready: asyncio.Future[None]) -> None:
        self.kind, self.path, self.host, self.room = kind, path, host, room
        self.stats = stats
        self.ready = ready
        self.buf = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "Sec-WebSocket-Protocol: kitchen.json\r\n" if self.kind == "hub" else ""
        transport.write((
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.closed += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before ready: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(bytes(self.buf[:80]).decode()))
                return
            del self.buf[: end + 4]
            self.upgraded = True
            if self.kind == "hub":
                self.send(json.dumps({"op": "sub", "id": "1", "channels": [self.room]}).encode())
        self.parse()

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        assert self.transport is not None
        self.transport.write(masked(payload, opcode))

    def parse(self) -> None:
        buf = self.buf
        pos = 0
        while len(buf) - pos >= 2:
            opcode, n = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if len(buf) - pos < head + n:
                break
            payload = bytes(buf[pos + head: pos + head + n])
            pos += head + n
            self.frame(opcode, payload)
        del buf[:pos]

    def frame(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:
            self.send(payload, 0xA)
        elif opcode == 0x8:
            if self.transport is not None:
                self.transport.close()
        elif self.kind == "hub":
            self.hub_frame(payload)
        else:
            self.sio_frame(payload)

    def hub_frame(self, payload: bytes) -> None:
        if payload.startswith(b'{"op":"event"'):
            self.stats.event(payload)
        elif payload.startswith(b'{"op":"ack"') and not self.ready.done():
            self.ready.set_result(None)

    def sio_frame(self, payload: bytes) -> None:
        if payload.startswith(b"42"):
            if payload.startswith(b'42["ev"'):
                self.stats.event(payload)
            elif payload.startswith(b'42["joined"') and not self.ready.done():
                self.ready.set_result(None)
        elif payload == b"2":
            self.send(b"3")  # engine.io ping → pong
        elif payload.startswith(b"0{"):
            self.send(b"40")  # connect to the default namespace
        elif payload.startswith(b"40"):
            self.send(b'42["sub",' + json.dumps(self.room).encode() + b"]")


async def open_all(kind: str, url: str, first: int, count: int, per_room: int,
                   stats: Stats) -> list[Client]:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(200)
    clients: list[Client] = []

    async def one(i: int) -> None:
        r = f"r{i // per_room}"
        room = f"expo:{r}"
        if kind == "hub":
            tok = tokens.issue([SECRET], "expo", [r], ttl=3600)[0]
            path = f"/ws?token={tok}"
        else:
            path = "/socket.io/?EIO=4&transport=websocket"
        async with gate:
            for attempt in range(5):
                ready: asyncio.Future[None] = loop.create_future()
                try:
                    _, proto = await loop.create_connection(
                        lambda ready=ready: Client(kind, path, host, room, stats, ready),  # type: ignore[misc]
                        host, int(port))
                    await asyncio.wait_for(ready, 30)
                    clients.append(proto)
                    return
                except (OSError, ConnectionError, TimeoutError):
                    await asyncio.sleep(0.2 * (attempt + 1))

    await asyncio.gather(*(one(i) for i in range(first, first + count)))
    return clients


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main() -> None:
    kind, url, first, count, per_room = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stats = Stats()
    clients = await open_all(kind, url, first, count, per_room, stats)
    print(f"ready {len(clients)}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    cpu0 = cpu_seconds()
    while line := (await reader.readline()).decode().strip():
        if line == "reset":
            stats.deliveries, stats.samples, stats.seen, cpu0 = 0, [], 0, cpu_seconds()
        elif line == "report":
            alive = sum(1 for c in clients if c.transport and not c.transport.is_closing())
            print(json.dumps({"deliveries": stats.deliveries, "samples": stats.samples,
                              "cpu": cpu_seconds() - cpu0, "alive": alive}), flush=True)
        elif line == "quit":
            break


if __name__ == "__main__":
    asyncio.run(main())
