"""The peer in the hub benchmark: python-socketio with AsyncRedisManager under uvicorn.

    python -m benchmarks.hub_bench_sio REDIS_URL PORT

A client emits ``sub`` with a room name; the server joins it to the room and answers
``joined``. The benchmark's publisher emits ``ev`` to rooms through the Redis manager.
"""

from __future__ import annotations

import resource
import sys

import socketio
import uvicorn


def app(redis_url: str) -> socketio.ASGIApp:
    sio = socketio.AsyncServer(
        async_mode="asgi", client_manager=socketio.AsyncRedisManager(redis_url),
        cors_allowed_origins="*", transports=["websocket"])

    @sio.on("sub")  # type: ignore[untyped-decorator]
    async def sub(sid: str, room: str) -> None:
        await sio.enter_room(sid, room)
        await sio.emit("joined", room, to=sid)

    return socketio.ASGIApp(sio)


def main() -> None:
    redis_url, port = sys.argv[1], int(sys.argv[2])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print("sio listening", flush=True)
    uvicorn.run(app(redis_url), host="127.0.0.1", port=port, log_level="warning",
                backlog=4096)


if __name__ == "__main__":
    main()
