"""Worker counters and gauges, served as Prometheus text by a tiny asyncio HTTP server.

    worker_entries_total{group, outcome}   entries handled: acked, failed, dead, reclaimed, skipped
    worker_batches_total{group}            handler calls that succeeded
    worker_handler_seconds_total{group}    time spent in handlers
    worker_errors_total{group, kind}       redis / transient / handler errors
    worker_lag{group, restaurant}          entries of the stream not yet delivered to the group
    worker_pending{group, restaurant}      entries delivered but not acknowledged

Any role may add its own names with :meth:`Metrics.inc` and :meth:`Metrics.set`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

Labels = tuple[tuple[str, str], ...]

HELP: dict[str, tuple[str, str]] = {
    "worker_entries_total": ("counter", "Stream entries by outcome."),
    "worker_batches_total": ("counter", "Handler calls that succeeded."),
    "worker_handler_seconds_total": ("counter", "Seconds spent in handlers."),
    "worker_errors_total": ("counter", "Errors by kind."),
    "worker_lag": ("gauge", "Entries not yet delivered to the group."),
    "worker_pending": ("gauge", "Entries delivered but not acknowledged."),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """In-process counters and gauges (one instance per process, shared by every role)."""

    def __init__(self) -> None:
        self._values: dict[str, dict[Labels, float]] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        series = self._values.setdefault(name, {})
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self._values.setdefault(name, {})[tuple(sorted(labels.items()))] = value

    def get(self, name: str, **labels: str) -> float:
        return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        out: list[str] = []
        for name in sorted(self._values):
            kind, text = HELP.get(name, ("untyped", name))
            out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            for labels, value in sorted(self._values[name].items()):
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                out.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")
        return "\n".join(out) + "\n"


class MetricsServer:
    """``GET /metrics`` (Prometheus) and ``GET /healthz`` on ``host:port``."""

    def __init__(self, metrics: Metrics, host: str = "127.0.0.1", port: int = 9108) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> bool:
        """Listen; a port in use is logged, not fatal (the worker's job matters more)."""
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            log.error("metrics: cannot listen on %s:%d (%s); running without /metrics",
                      self.host, self.port, exc)
            return False
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)
        return True

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            path = request.split(b" ", 2)[1].decode(errors="replace") if b" " in request else ""
            if path.split("?")[0] == "/metrics":
                status, ctype, body = "200 OK", "text/plain; version=0.0.4", self.metrics.render()
            elif path == "/healthz":
                status, ctype, body = "200 OK", "text/plain", "ok\n"
            else:
                status, ctype, body = "404 Not Found", "text/plain", "not found\n"
            data = body.encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode() + data
            )
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
