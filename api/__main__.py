"""``python -m api``: serve the API with uvicorn on API_HOST:API_PORT."""

from __future__ import annotations

import logging
import sys

import uvicorn

from api.app import create_app
from api.wire import CoalescingHttp
from kitchen import runtime
from kitchen.errors import ConfigError
from kitchen.settings import Settings


def main() -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = Settings.from_env()
        app = create_app(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    runtime.raise_open_files()  # an idle keep-alive connection holds a file
    runtime.tune_gc()
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, http=CoalescingHttp,
                proxy_headers=True,
                timeout_keep_alive=settings.api_keep_alive_s, timeout_graceful_shutdown=10,
                log_level="info", access_log=settings.access_log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
