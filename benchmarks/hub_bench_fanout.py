"""Fan-out micro-benchmark: ``websockets.broadcast()`` against writing one pre-built frame.

    .venv/bin/python -m benchmarks.hub_bench_fanout [--connections 5000] [--rounds 20]

A websockets server (no compression) in this process; a child process opens the connections
with raw sockets and drains them. Each round sends one ~900-byte text message to every
connection, either with ``broadcast()`` (websockets frames it once per connection) or the way
the hub does it (``hub.frames.ws_frame`` once, then ``transport.write`` per connection).
Prints the server's CPU time per delivery for each, twice, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import sys
import time

from websockets.asyncio.server import ServerConnection, broadcast, serve

from hub import frames


class _Sink(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


async def drain(port: int, n: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(n):
        transport, _ = await loop.create_connection(_Sink, "127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    await asyncio.sleep(3600)


async def measure(n: int, rounds: int) -> None:
    conns: list[ServerConnection] = []
    all_in = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        conns.append(ws)
        if len(conns) == n:
            all_in.set()
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.hub_bench_fanout", "--drain", str(port),
            "--connections", str(n))
        try:
            async with asyncio.timeout(120):
                await all_in.wait()
            await asyncio.sleep(0.5)
            payload = json.dumps({"op": "event", "data": "x" * 850}).encode()
            text, wire = payload.decode(), frames.ws_frame(payload, frames.OP_TEXT)
            for how in ("broadcast", "direct", "broadcast", "direct"):
                start = time.process_time()
                for _ in range(rounds):
                    if how == "broadcast":
                        broadcast(conns, text)
                    else:
                        for ws in conns:
                            ws.transport.write(wire)
                    await asyncio.sleep(0.02)
                per = (time.process_time() - start) / (rounds * n) * 1e6
                print(f"{how:9} {per:5.2f} µs of server CPU per delivery ({n} connections)")
        finally:
            child.kill()
            await child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--drain", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.drain:
        asyncio.run(drain(args.drain, args.connections))
    else:
        asyncio.run(measure(args.connections, args.rounds))


if __name__ == "__main__":
    main()
