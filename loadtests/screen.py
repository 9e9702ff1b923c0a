"""A live screen's connection to the hub, for Locust users (gevent: a synchronous client,
:mod:`loadtests.wsclient`).

One :class:`Screen` holds one WebSocket (``kitchen.msgpack`` subprotocol), subscribes to its
channels, and hands every event frame to a callback from a receive greenlet. When the hub
closes the connection (restart, slow consumer) it reconnects and resumes from the last
position it saw, as a real screen does. Connects, subscriptions, reconnects and duplicate
deliveries are reported to Locust's statistics through ``events.request``. A frame counts as
received when its bytes arrived (:mod:`loadtests.stamps`); one frame in ten also reports how
long it then waited for this process to read it (``GEN``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import gevent
import ormsgpack
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from loadtests import stamps
from loadtests.wsclient import Connection

WS = "WS"
OnEvent = Callable[[dict[str, Any], float], None]
Snapshot = Callable[[], "tuple[str, str] | None"]  # loads a snapshot → (pos, epoch)
RECONNECT_ATTEMPTS = 20


def unpack(raw: bytes | str) -> dict[str, Any]:
    """One ``kitchen.msgpack`` frame. ormsgpack decodes them in about half msgpack's time,
    and decoding is a fifth of a generator's CPU (thousands of screens, every event)."""
    if isinstance(raw, str):
        raise ValueError("a text frame on the msgpack subprotocol")
    frame: dict[str, Any] = ormsgpack.unpackb(raw, option=ormsgpack.OPT_NON_STR_KEYS)
    return frame


class Screen:
    """A subscribed WebSocket whose event frames go to ``on_event(frame, received_ms)``."""

    def __init__(self, environment: Any, hub_url: str, token: str, channels: list[str],
                 restaurant_id: str, label: str, on_event: OnEvent,
                 snapshot: Snapshot | None = None) -> None:
        self.environment = environment
        self.url = f"{hub_url.rstrip('/')}/ws?token={quote(token)}&screen={quote(label)}"
        self.channels = channels
        self.restaurant_id = restaurant_id
        self.label = label
        self.kind = label.split("-")[0]
        self.on_event = on_event
        self.snapshot = snapshot
        self.ws: Connection | None = None
        self.epoch = ""
        self.pos = ""
        self.seen: set[str] = set()
        self.duplicates = 0
        self.closed = False
        self.frames = 0
        self._loop: gevent.Greenlet | None = None

    # ------------------------------------------------------------------ reporting

    def _report(self, name: str, started: float, exc: BaseException | None = None,
                length: int = 0) -> None:
        self.environment.events.request.fire(
            request_type=WS, name=name, response_time=(time.perf_counter() - started) * 1000,
            response_length=length, exception=exc, context={})

    # ------------------------------------------------------------------ connection

    def open(self, attempts: int = 4) -> None:
        """Connect and subscribe, trying again after a failure as a screen does (each failure
        is reported); raises when every attempt failed."""
        for attempt in range(attempts):
            try:
                self._connect(resume=False)
                break
            except Exception:
                if attempt == attempts - 1:
                    raise
                gevent.sleep(min(0.5 * 2**attempt, 4.0))
        self._loop = gevent.spawn(self._receive_loop)

    def _connect(self, resume: bool) -> None:
        name = f"{'resume' if resume else 'connect'} {self.kind}"
        started = time.perf_counter()
        ws = None
        try:
            ws = Connection.open(self.url, subprotocols=("kitchen.msgpack",), timeout=15,
                                 max_size=2**22)
            request: dict[str, Any] = {"op": "sub", "id": "s", "channels": self.channels}
            if resume and self.pos and self.epoch:
                request["from"] = {self.restaurant_id: {"pos": self.pos, "epoch": self.epoch}}
            ws.send(json.dumps(request))
            while True:
                frame = unpack(ws.recv(timeout=15))
                op = frame.get("op")
                if op == "ack" and frame.get("id") == "s":
                    where = frame.get("positions", {}).get(self.restaurant_id)
                    if where and not (resume and self.pos):
                        self.pos, self.epoch = where["pos"], where["epoch"]
                    break
                if op == "reload":  # away too long: load a snapshot, go on from its position
                    self._report(f"reload {self.kind}", time.perf_counter(), None)
                    where = self.snapshot() if self.snapshot is not None else None
                    request.pop("from", None)
                    self.pos = ""
                    if where is not None:
                        self.pos, self.epoch = where
                        request["from"] = {self.restaurant_id: {"pos": self.pos,
                                                                "epoch": self.epoch}}
                    ws.send(json.dumps(request))
                elif op == "error":
                    raise RuntimeError(f"{frame.get('code')}: {frame.get('reason')}")
                elif op == "event":
                    self._event(frame, ws.arrived)
        except (OSError, InvalidHandshake, ConnectionClosed, RuntimeError, TimeoutError) as exc:
            if ws is not None:
                ws.sock.close()
            self._report(name, started, exc)
            raise
        self.ws = ws
        self._report(name, started)

    def _receive_loop(self) -> None:
        """Read until closed; reconnect after a drop, a reload the hub asks for (it gets its
        snapshot while resubscribing) or anything else that breaks the reading, which is
        reported as a failure rather than leaving the screen deaf."""
        while not self.closed:
            ws = self.ws
            assert ws is not None
            try:
                while True:
                    frame = unpack(ws.recv())
                    op = frame.get("op")
                    if op == "event":
                        self._event(frame, ws.arrived)
                    elif op == "reload":  # the hub dropped this screen's channels
                        self._report(f"reload {self.kind}", time.perf_counter())
                        break
            except (ConnectionClosed, OSError):
                pass
            except Exception as exc:  # anything else: counted, then read again
                self._report(f"screen broke {self.kind}", time.perf_counter(), exc)
            ws.sock.close()
            if self.closed:
                return
            self._reconnect()

    def _reconnect(self) -> None:
        for attempt in range(RECONNECT_ATTEMPTS):
            if self.closed:
                return
            gevent.sleep(min(0.2 * 2**attempt, 3.0))
            try:
                self._connect(resume=True)
                return
            except Exception:
                continue
        self.closed = True

    def _event(self, frame: dict[str, Any], arrived_s: float) -> None:
        received = arrived_s * 1000
        self.frames += 1
        if self.frames % stamps.SAMPLE_EVERY == 0:
            self.environment.events.request.fire(
                request_type=stamps.GEN, name="frame waited to be read",
                response_time=max(0.0, time.time() * 1000 - received), response_length=0,
                exception=None, context={})
        event_id = frame["id"]
        if event_id in self.seen:
            self.duplicates += 1
            self.environment.events.request.fire(
                request_type=WS, name=f"duplicate event {self.kind}", response_time=0,
                response_length=0, exception=RuntimeError(f"event {event_id} twice"),
                context={})
            return
        self.seen.add(event_id)
        self.pos = frame["pos"]
        self.on_event(frame, received)

    def close(self) -> None:
        self.closed = True
        if self.ws is not None:
            try:
                self.ws.close(wait=False)  # the receive greenlet is reading it
            except Exception:
                pass
        if self._loop is not None:
            self._loop.join(timeout=3)
