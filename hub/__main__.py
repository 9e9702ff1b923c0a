"""``python -m hub``: run one hub process until SIGTERM or SIGINT.

On either signal the hub stops accepting, sends every client a ``bye`` frame and closes it with
1012 (service restart), so screens reconnect (to this hub once it is back, or another one) and
resume from their last position.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from hub.server import Hub
from kitchen import runtime
from kitchen.errors import ConfigError
from kitchen.settings import Settings


async def run(settings: Settings) -> None:
    hub = Hub(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = await hub.start()
    runtime.tune_gc()
    print(f"hub listening on {settings.hub_host}:{port}", flush=True)
    await stop.wait()
    logging.getLogger("hub").info("stopping: telling clients to reconnect")
    await hub.stop()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"hub: {exc.reason}", file=sys.stderr)
        return 2
    runtime.raise_open_files()
    try:
        asyncio.run(run(settings))  # uvloop measured no faster here (docs/benchmarks.md)
    except ConfigError as exc:
        print(f"hub: {exc.reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
