"""Screens as the fault suite runs them: a snapshot from the API, then live events from the hub,
resuming from the last position after every disconnect (``docs/protocol.md``).

A screen keeps what a real one shows (orders by id, replaced whole by each event) and also a
record of what it was sent, so the suite can tell whether anything came twice, out of order
or not at all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kitchen import codec

Pos = tuple[int, int]
ZERO: Pos = (0, 0)
KITCHEN = frozenset({"held", "queued", "cooking"})
OPEN = KITCHEN | {"ready"}
View = dict[str, tuple[tuple[str, str], ...]]


def parse_pos(text: str) -> Pos:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def format_pos(pos: Pos) -> str:
    return f"{pos[0]}-{pos[1]}"


@dataclass(frozen=True)
class Spec:
    """What a screen watches: one channel, the snapshot that goes with it, its token."""

    name: str
    kind: str  # station | expo | table
    channel: str
    snapshot: str  # API path
    token: str
    key: str = ""  # the station id or table number
    msgpack: bool = False

    def view(self, orders: Iterable[dict[str, Any]]) -> View:
        """What the screen shows, reduced to order → (dish, status) pairs."""
        out: View = {}
        for order in orders:
            lines = order.get("lines", ())
            if self.kind == "station":
                lines = [ln for ln in lines if ln["station_id"] == self.key]
                if not any(ln["status"] in KITCHEN for ln in lines):
                    continue
            elif self.kind == "expo":
                if not any(ln["status"] in OPEN for ln in lines):
                    continue
            elif order.get("table_no", self.key) != self.key:
                continue
            out[order["id"]] = tuple(sorted((ln["id"], ln["status"]) for ln in lines))
        return out

    def orders_of_snapshot(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        if self.kind == "table":
            return list(body["orders"])
        return [{"id": t["order_id"], "table_no": t["table_no"], "lines": t["lines"]}
                for t in body["tickets"]]


@dataclass
class Segment:
    """Events received after loading one snapshot (or after the first subscription)."""

    start: Pos
    received: list[Pos] = field(default_factory=list)


@dataclass
class Screen:
    spec: Spec
    api_url: str
    hub_url: str
    restaurant: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    pos: Pos = ZERO
    epoch: str = ""
    status: str = "offline"  # offline | catching up | live
    seen: set[str] = field(default_factory=set)
    segments: list[Segment] = field(default_factory=list)
    delivered: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    reloads: int = 0
    reconnects: int = 0
    refused: list[str] = field(default_factory=list)
    snapshots: int = 0

    # ------------------------------------------------------------------ snapshot

    async def fetch_snapshot(self, http: httpx.AsyncClient) -> dict[str, Any]:
        res = await http.get(self.api_url + self.spec.snapshot,
                             headers={"Authorization": f"Bearer {self.spec.token}"})
        res.raise_for_status()
        body: dict[str, Any] = res.json()
        return body

    async def load_snapshot(self, http: httpx.AsyncClient, stop: asyncio.Event) -> bool:
        """Keep trying (the API may be down) until a snapshot is in; False if told to stop."""
        while True:
            try:
                body = await self.fetch_snapshot(http)
                break
            except (httpx.HTTPError, ValueError):
                if stop.is_set():
                    return False
                await asyncio.sleep(0.3)
        self.orders = {o["id"]: o for o in self.spec.orders_of_snapshot(body)}
        self.pos, self.epoch = parse_pos(body["pos"]), body["epoch"]
        self.segments.append(Segment(self.pos))
        self.snapshots += 1
        return True

    # ------------------------------------------------------------------ live

    async def run(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        need_snapshot = True
        backoff = 0.1
        while not stop.is_set():
            if need_snapshot:
                if not await self.load_snapshot(http, stop):
                    return
                need_snapshot = False
            try:
                need_snapshot = await self._session(stop)
                backoff = 0.1
            except (OSError, ConnectionClosed, InvalidHandshake, InvalidStatus, TimeoutError):
                pass
            self.status = "offline"
            if stop.is_set():
                return
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def _session(self, stop: asyncio.Event) -> bool:
        """One connection; True when it ended because the screen must reload a snapshot."""
        proto = "kitchen.msgpack" if self.spec.msgpack else "kitchen.json"
        url = f"{self.hub_url}/?token={self.spec.token}&screen={self.spec.name}"
        async with connect(url, subprotocols=[proto],  # type: ignore[list-item]
                           open_timeout=5, close_timeout=1, ping_interval=None) as ws:
            self.status = "catching up"
            await self._subscribe(ws)
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                frame = codec.unpack(raw) if isinstance(raw, bytes) else json.loads(raw)
                verdict = await self._on_frame(ws, frame)
                if verdict == "reload":
                    return True
        return False

    async def _subscribe(self, ws: ClientConnection) -> None:
        request = {"op": "sub", "id": "s", "channels": [self.spec.channel],
                   "from": {self.restaurant: {"pos": format_pos(self.pos), "epoch": self.epoch}}}
        if self.spec.msgpack:
            await ws.send(codec.pack(request))
        else:
            await ws.send(json.dumps(request))

    async def _on_frame(self, ws: ClientConnection, frame: dict[str, Any]) -> str:
        op = frame.get("op")
        if op == "event":
            self._on_event(frame)
        elif op == "ack" and self.spec.channel in frame.get("channels", ()):
            self.status = "live"
        elif op == "reload":
            self.reloads += 1
            return "reload"
        elif op == "error":
            if frame.get("temporary"):
                await asyncio.sleep(0.3)
                await self._subscribe(ws)
            else:
                self.refused.append(f"{frame.get('code')}: {frame.get('reason')}")
        return ""

    def _on_event(self, frame: dict[str, Any]) -> None:
        pos = parse_pos(frame["pos"])
        if frame["id"] in self.seen:
            self.duplicates += 1
            return
        if pos <= self.pos:
            self.out_of_order += 1
            return
        self.seen.add(frame["id"])
        self.delivered += 1
        self.pos = pos
        self.segments[-1].received.append(pos)
        data = frame.get("data") or {}
        for order in [data["order"]] if "order" in data else []:
            self.orders[order["id"]] = order
        for order in data.get("orders", ()):
            self.orders[order["id"]] = order

    # ------------------------------------------------------------------ checks

    def view(self) -> View:
        return self.spec.view(self.orders.values())

    def gaps(self, routed: list[Pos]) -> list[Pos]:
        """Events routed to this screen that it should have received and did not.

        Within a segment every routed event after the snapshot and up to the last one received
        must have come; the last segment must reach the end of the log.
        """
        missing: list[Pos] = []
        for i, seg in enumerate(self.segments):
            last = seg.received[-1] if seg.received else seg.start
            end = routed[-1] if i == len(self.segments) - 1 and routed else last
            got = set(seg.received)
            missing += [p for p in routed if seg.start < p <= end and p not in got]
        return missing


def routed_positions(entries: list[tuple[Pos, frozenset[str]]], channel: str) -> list[Pos]:
    return [pos for pos, routes in entries if channel in routes]


async def run_all(screens: list[Screen], stop: asyncio.Event,
                  on_error: Callable[[Screen, BaseException], None]) -> None:
    async with httpx.AsyncClient(timeout=5.0) as http:
        async def one(screen: Screen) -> None:
            try:
                await screen.run(http, stop)
            except Exception as exc:  # recorded: the suite fails on it
                on_error(screen, exc)

        await asyncio.gather(*(one(s) for s in screens))
