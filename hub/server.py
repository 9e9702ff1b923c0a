"""The hub: a websockets server that fans the restaurants' logs out to screens.

Wiring only: :class:`~hub.feed.Feed` reads the streams, :class:`~hub.registry.Registry` knows
who watches what, :mod:`hub.protocol` decides what a request means and who may ask for it.
Fan-out never awaits a client: frames go straight to transports, and a connection whose
transport buffer passes ``send_buffer_bytes`` is closed with ``CLOSE_SLOW``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import socket
import time
import weakref
from collections.abc import Awaitable, Iterator, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from redis.exceptions import RedisError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from hub import frames, protocol
from hub.conn import Conn
from hub.feed import Feed
from hub.metrics import Metrics
from hub.presence import Presence, Screen
from hub.protocol import Ping, ProtocolError, Subscribe, Unsubscribe
from hub.registry import Registry
from hub.sessions import Sessions
from hub.window import ZERO, Entry, Window
from kitchen import channels, codec, keys, tokens
from kitchen.codec import Envelope
from kitchen.errors import AuthError, ConfigError
from kitchen.settings import Settings
from kitchen.tokens import Claims

log = logging.getLogger("hub")

CATCH_UP_S = 2.0  # how long a client ahead of this hub (it came from a faster one) may wait
REPLAY_FACTOR = 4  # a replay may take up to this many send buffers, else the client reloads
PING_INTERVAL_S = 20.0  # keepalive: a ping every 20 s, closed (1011) if unanswered 20 s later
PING_SLOTS = 20  # the keepalive sweep wakes every PING_INTERVAL_S / PING_SLOTS seconds
CLOSE_TIMEOUT_S = 5.0


class Hub:
    def __init__(self, settings: Settings, *, hub_id: str | None = None) -> None:
        if settings.redis_url is None:
            raise ConfigError("the hub needs REDIS_URL (make run passes the embedded one)")
        self.settings = settings
        self.hub_id = hub_id or f"{socket.gethostname()}:{os.getpid()}"
        self.metrics = Metrics()
        self.registry = Registry()
        self.sessions = Sessions()
        self.feed = Feed(settings.redis_url, settings.hub_window, self.metrics,
                         on_events=self.deliver, on_reset=self._reset, on_revoked=self._revoked,
                         news=settings.hub_news)
        self.presence = Presence(self.feed.redis, self.hub_id,
                                 watchers=lambda r: bool(self.registry.watching(channels.board(r))),
                                 publish=self._publish_presence)
        self.server: Server | None = None
        self._auth: weakref.WeakKeyDictionary[ServerConnection, Claims | AuthError] = (
            weakref.WeakKeyDictionary())
        self._ids = itertools.count(1)
        self._seq = 0
        self._closing: set[asyncio.Task[None]] = set()
        self._keepalive: asyncio.Task[None] | None = None
        self.metrics.gauges.update({
            "hub_connections": lambda: len(self.registry),
            "hub_subscriptions": lambda: self.registry.subscriptions,
            "hub_restaurants": lambda: len(self.feed.windows),
            "hub_send_buffer_bytes": lambda: sum(
                c.transport.get_write_buffer_size() for c in self.registry.conns.values()),
        })

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str | None = None, port: int | None = None) -> int:
        """Load the windows, start reading, listen; return the bound port."""
        await self.feed.start()
        self.presence.start()
        self.server = await serve(
            self.handler,
            self.settings.hub_host if host is None else host,
            self.settings.hub_port if port is None else port,
            compression=None,
            max_size=protocol.MAX_FRAME_BYTES,
            max_queue=4,
            ping_interval=None,  # one keepalive sweep for all (_keepalive_loop), not a task each
            close_timeout=CLOSE_TIMEOUT_S,
            process_request=self.process_request,
            select_subprotocol=select_subprotocol,
            subprotocols=[Subprotocol(s) for s in protocol.SUBPROTOCOLS],
            server_header=None,
            backlog=4096,
        )
        self._keepalive = asyncio.create_task(self._keepalive_loop(), name="hub-keepalive")
        bound: int = self.server.sockets[0].getsockname()[1]
        log.info("hub %s listening on port %d", self.hub_id, bound)
        return bound

    async def stop(self, reason: str = "restart") -> None:
        """Tell every client, close them all with CLOSE_RESTART, release Redis."""
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self.server is not None:
            self.server.close(close_connections=False)
        conns = list(self.registry.conns.values())
        for conn in conns:
            conn.send(frames.bye(reason, random.randint(200, 3000)))
        closing = [conn.ws.close(protocol.CLOSE_RESTART, "hub restarting") for conn in conns]
        await asyncio.gather(*closing, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self.presence.stop()
        await self.feed.stop()

    # ------------------------------------------------------------------ HTTP and handshake

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == "/healthz":
            ok = self.feed.ready.is_set()
            return connection.respond(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE,
                                      "ok\n" if ok else "starting\n")
        if path == "/metrics":
            body = self.metrics.render().encode()
            headers = Headers([("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                               ("Content-Length", str(len(body)))])
            return Response(HTTPStatus.OK, "OK", headers, body)
        if path not in ("/", "/ws"):
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        params = parse_qs(query)
        token = protocol.token_offered(request.headers.get("Sec-WebSocket-Protocol")) \
            or params.get("token", [""])[0]
        self._auth[connection] = self._authenticate(token)
        return None

    def _authenticate(self, token: str) -> Claims | AuthError:
        try:
            claims = tokens.verify(token, self.settings.secret_keys)
        except AuthError as exc:
            return exc
        if claims.role == "qr":
            return AuthError("a table QR token watches nothing: ask the API for a diner token")
        if self._is_revoked(claims):
            return AuthError("token revoked")
        return claims

    def _is_revoked(self, claims: Claims) -> bool:
        return any(claims.jti in self.feed.revoked.get(r, ()) for r in claims.restaurants)

    # ------------------------------------------------------------------ connections

    async def handler(self, ws: ServerConnection) -> None:
        auth = self._auth.pop(ws, None)
        fmt = protocol.SUBPROTOCOLS.get(ws.subprotocol or "", protocol.JSON)
        if not isinstance(auth, Claims):
            reason = auth.reason if auth is not None else "no token"
            await self._turn_away(ws, fmt, ProtocolError("unauthorized", reason),
                                  protocol.CLOSE_UNAUTHORIZED)
            return
        if self.registry.of_token(auth.jti) >= protocol.MAX_CONNECTIONS_PER_TOKEN:
            limit = protocol.MAX_CONNECTIONS_PER_TOKEN
            error = ProtocolError("too_many_connections",
                                  f"this token already holds {limit} connections",
                                  temporary=True)
            await self._turn_away(ws, fmt, error, protocol.CLOSE_TOO_MANY)
            return
        screen = protocol.screen_id(parse_qs(ws.request.path.partition("?")[2] if ws.request
                                             else "").get("screen", [None])[0])
        _shed_handshake(ws)
        n = next(self._ids)
        conn = Conn(ws, f"{self.hub_id}/{n}", auth, fmt,
                    self.settings.send_buffer_bytes, self._cut_slow, screen)
        conn.slot = n % PING_SLOTS
        self.registry.connect(conn)
        self.metrics.connections_total += 1
        self.presence.online(conn)
        conn.send(frames.hello(conn.id, self.hub_id, auth.role, auth.restaurants, LIMITS))
        try:
            async for message in ws:
                await self._handle(conn, message)
        except ConnectionClosed:
            pass
        finally:
            conn.closing = True
            self.registry.disconnect(conn)
            self.presence.offline(conn)

    async def _turn_away(self, ws: ServerConnection, fmt: int, error: ProtocolError,
                         code: int) -> None:
        """One error frame, then a close with ``code``: the client can tell why."""
        self.metrics.refused += 1
        payload = frames.payload(frames.error(error), fmt)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(payload.decode() if fmt == protocol.JSON else payload)
        await ws.close(code, error.reason[:120])

    async def _handle(self, conn: Conn, message: str | bytes) -> None:
        request_id: str | None = None
        try:
            request = protocol.parse(message)
            request_id = request.id
            if isinstance(request, Subscribe):
                await self._subscribe(conn, request)
            elif isinstance(request, Unsubscribe):
                self.registry.remove(conn, request.channels)
                conn.send(frames.unsub_ack(request.id, request.channels))
            elif isinstance(request, Ping):
                conn.send(frames.pong(request.id))
        except ProtocolError as exc:
            self._refuse(conn, exc)
        except (RedisError, OSError) as exc:
            log.warning("request of %s failed: %s", conn.id, exc)
            self._refuse(conn, ProtocolError("unavailable", "the hub cannot read the log now",
                                             request_id=request_id, temporary=True))

    def _refuse(self, conn: Conn, exc: ProtocolError) -> None:
        conn.errors += 1
        self.metrics.errors += 1
        conn.send(frames.error(exc))
        if conn.errors > protocol.MAX_ERRORS:
            self._close(conn, protocol.CLOSE_POLICY, "too many bad requests")

    def _close(self, conn: Conn, code: int, reason: str) -> None:
        conn.closing = True
        self.registry.remove(conn, list(conn.channels))
        task = asyncio.create_task(conn.ws.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _cut_slow(self, conn: Conn) -> None:
        self.metrics.slow_closes += 1
        conn.pending.clear()
        log.info("closing slow connection %s", conn.id)
        self._close(conn, protocol.CLOSE_SLOW, "slow, resume")

    # ------------------------------------------------------------------ keepalive

    async def _keepalive_loop(self) -> None:
        """WebSocket pings for every connection from one task, instead of websockets' task and
        timer per connection (about 2 KB each): every PING_INTERVAL_S / PING_SLOTS seconds,
        one slot of the connections. A connection whose ping of the previous round (sent
        PING_INTERVAL_S ago) got no pong is closed with 1011; one whose token has expired
        meanwhile, with 4001 (the API refuses that token too); the others get a new ping."""
        tick = 0
        while True:
            await asyncio.sleep(PING_INTERVAL_S / PING_SLOTS)
            tick += 1
            now = time.time()
            for conn in list(self.registry.conns.values()):
                if conn.slot == tick % PING_SLOTS and conn.is_open:
                    if _expired(conn.claims, now):
                        self._close(conn, protocol.CLOSE_UNAUTHORIZED, TOKEN_EXPIRED)
                    else:
                        self._ping(conn)

    def _ping(self, conn: Conn) -> None:
        if conn.ping is not None and not _answered(conn.ping):
            self._close(conn, protocol.CLOSE_KEEPALIVE, "keepalive ping timeout")
            return
        conn.ping = asyncio.ensure_future(conn.ws.ping())
        conn.ping.add_done_callback(_retrieve)

    # ------------------------------------------------------------------ subscribe

    async def _subscribe(self, conn: Conn, req: Subscribe) -> None:
        if _expired(conn.claims, time.time()):
            self._refuse(conn, ProtocolError("unauthorized", TOKEN_EXPIRED, request_id=req.id))
            self._close(conn, protocol.CLOSE_UNAUTHORIZED, TOKEN_EXPIRED)
            return
        for name in req.channels:
            protocol.authorise(conn.claims, name, req.id)
        new = [name for name in req.channels if name not in conn.channels]
        if len(conn.channels) + len(new) > protocol.MAX_CHANNELS:
            raise ProtocolError("too_many_channels",
                                f"at most {protocol.MAX_CHANNELS} channels per connection",
                                request_id=req.id)
        by_restaurant: dict[str, list[str]] = {}
        for name in new:
            by_restaurant.setdefault(channels.parse(name)[1], []).append(name)
        for r in by_restaurant:
            await self.feed.ensure(r)
            resume = req.resume.get(r)
            if resume is not None and resume.pos > self.feed.windows[r].last:
                await self.feed.reach(r, resume.pos, CATCH_UP_S)
        if conn.claims.role == "diner":
            await self._learn_tables(new, conn)
        if self._is_revoked(conn.claims):
            self._close(conn, protocol.CLOSE_UNAUTHORIZED, "token revoked")
            return
        if not all(self._in_session(conn, name) for name in new):
            self._refuse(conn, ProtocolError("unauthorized", SESSION_ENDED, request_id=req.id))
            self._close(conn, protocol.CLOSE_UNAUTHORIZED, SESSION_ENDED)
            return
        self._attach(conn, req, by_restaurant)  # no await from here on: no gap with live

    def _in_session(self, conn: Conn, name: str) -> bool:
        kind, restaurant, table = channels.parse(name)
        return kind != "table" or self.sessions.allows(conn.claims, restaurant, table)

    async def _learn_tables(self, names: Sequence[str], conn: Conn) -> None:
        """Read the session of each table this hub has no event of yet (once per table). A
        table whose session, as this hub knows it, is not the token's: catch up with the
        log first (the seating that began the token's session may be in it, unread), so
        the phone is judged on the present, and the phones of the session before are
        closed at the event that ended it, not later."""
        for name in names:
            kind, r, table = channels.parse(name)
            if kind != "table":
                continue
            if self.sessions.current(r, table) is not None:
                if not self.sessions.allows(conn.claims, r, table):
                    await self.feed.catch_up(r, CATCH_UP_S)
                continue
            pipe = self.feed.redis.pipeline(transaction=True)
            pipe.hget(keys.tables(r), table)
            pipe.xrevrange(keys.log(r), count=1)
            raw, newest = await pipe.execute()
            if raw is None:
                continue  # no such table: nothing to hold a phone to
            at = protocol.parse_pos(newest[0][0].decode()) if newest else (0, 0)
            self.sessions.learn_state(r, codec.unpack(raw), at)

    def _attach(self, conn: Conn, req: Subscribe, by_restaurant: dict[str, list[str]]) -> None:
        accepted: list[str] = []
        positions: dict[str, tuple[str, str]] = {}
        replayed: dict[str, int] = {}
        replay: list[Entry] = []
        budget = self.settings.send_buffer_bytes * REPLAY_FACTOR
        for r, names in by_restaurant.items():
            window = self.feed.windows[r]
            resume = req.resume.get(r)
            events: list[Entry] = []
            reason = None
            if resume is not None:
                reason, events = self._replay(conn, window, resume, set(names))
                if reason is None and sum(len(e.frame(conn.fmt)) for e in events) > budget:
                    reason = "too_many"
            if reason is not None:
                self.metrics.reloads += 1
                conn.send(frames.reload(req.id, r, reason, window.epoch, names))
                continue
            accepted.extend(names)
            positions[r] = (window.last_pos, window.epoch)
            start = resume.pos if resume is not None else window.last
            for name in names:
                conn.since[name] = start
            replayed[r] = len(events)
            replay.extend(events)
        conn.send(frames.ack(req.id, accepted, positions, replayed))
        if replay:
            data = b"".join(e.frame(conn.fmt) for e in replay)
            conn.allowance = len(data)
            conn.write(data)
            self.metrics.replayed += len(replay)
        if not conn.is_open:
            return
        self.registry.add(conn, accepted)
        for r in by_restaurant:
            if channels.board(r) in accepted:
                self.presence.watch(r)
                if r in self.presence.current:
                    conn.send(frames.presence(r, self.presence.current[r]))

    def _replay(self, conn: Conn, window: Window, resume: protocol.Resume,
                names: set[str]) -> tuple[str | None, list[Entry]]:
        if not window.epoch or resume.epoch != window.epoch:
            return "epoch", []
        if resume.pos > window.last:
            return "ahead", []
        events = window.since(resume.pos)
        if events is None:
            return "too_old", []
        if conn.claims.role == "diner" and resume.pos < self._session_floor(window, names):
            return "session", []  # the replay would show the guests before
        diner = conn.claims.role == "diner"
        return None, [e for e in events if not names.isdisjoint(e.routes)
                      and not self._delivered(conn, e)
                      and not (diner and self._foreign(e) in names)]

    @staticmethod
    def _delivered(conn: Conn, entry: Entry) -> bool:
        """The connection already got this event through a channel it watches (one it has
        watched since before the event, live or by a replay)."""
        since = conn.since
        return any(since.get(name, ZERO) < entry.key
                   for name in conn.channels.intersection(entry.routes))

    def _foreign(self, entry: Entry) -> str | None:
        """The table channel whose phones must not get this event: its order is not of that
        table's present session (the dishes of guests who paid and left)."""
        table = self.sessions.foreign(entry.env)
        return None if table is None else channels.table(entry.env.restaurant_id, table)

    def _session_floor(self, window: Window, names: set[str]) -> tuple[int, int]:
        """The newest position at which the present session of one of these tables began."""
        floor = window.floor
        for name in names:
            kind, r, table = channels.parse(name)
            if kind != "table":
                continue

            def history(name: str = name) -> Iterator[tuple[tuple[int, int], Envelope]]:
                return ((e.key, e.env) for e in reversed(window.entries) if name in e.routes)

            floor = max(floor, self.sessions.floor(r, table, history, window.floor))
        return floor

    # ------------------------------------------------------------------ fan-out

    def deliver(self, entries: Sequence[Entry]) -> None:
        """Queue each event once per connection that watches one of its channels, then write."""
        subscribers = self.registry.subscribers
        touched: list[Conn] = []
        now = time.time() * 1000
        total = 0
        ended: list[Conn] = []
        for entry in entries:
            self._seq += 1
            seq = self._seq
            n = 0
            for name in entry.routes:
                subs = subscribers.get(name)
                if not subs:
                    continue
                foreign = name.startswith("table:") and self._foreign(entry) == name
                for conn in subs:
                    if conn.mark == seq or (foreign and conn.claims.role == "diner"):
                        continue
                    conn.mark = seq
                    if not conn.pending:
                        touched.append(conn)
                    conn.pending.append(entry.frame(conn.fmt))
                    n += 1
            if n:
                self.metrics.lag.observe(now - entry.key[0], n)
                total += n
            for table, session in self.sessions.from_event(entry.env, entry.key):
                ended += self._end_session(entry.env.restaurant_id, table, session)
        self.metrics.deliveries += total
        for conn in touched:
            pending = conn.pending
            data = pending[0] if len(pending) == 1 else b"".join(pending)
            pending.clear()
            conn.write(data)
        for conn in ended:
            self._close(conn, protocol.CLOSE_UNAUTHORIZED, SESSION_ENDED)

    def _end_session(self, restaurant_id: str, table: str, session: str) -> list[Conn]:
        """Stop sending the table to phones of another session (they are closed after the
        frames already queued for them, the event that ended their session included)."""
        name = channels.table(restaurant_id, table)
        gone = [c for c in self.registry.watching(name)
                if c.claims.role == "diner" and c.claims.session != session]
        for conn in gone:
            self.registry.remove(conn, [name])
        return gone

    def _reset(self, restaurant_id: str, window: Window) -> None:
        """The log was rebuilt: everyone watching it reloads."""
        self.sessions.forget(restaurant_id)
        for conn in self.registry.of_restaurant(restaurant_id):
            names = [n for n in conn.channels if channels.parse(n)[1] == restaurant_id]
            self.registry.remove(conn, names)
            self.metrics.reloads += 1
            conn.send(frames.reload(None, restaurant_id, "epoch", window.epoch, names))

    def _revoked(self, restaurant_id: str, jtis: set[str]) -> None:
        for conn in list(self.registry.conns.values()):
            if conn.claims.jti in jtis and restaurant_id in conn.claims.restaurants:
                self._close(conn, protocol.CLOSE_UNAUTHORIZED, "token revoked")

    def _publish_presence(self, restaurant_id: str, screens: list[Screen]) -> None:
        watchers = self.registry.watching(channels.board(restaurant_id))
        if not watchers:
            return
        obj = frames.presence(restaurant_id, screens)
        wire = [frames.encode(obj, protocol.JSON), frames.encode(obj, protocol.MSGPACK)]
        for conn in list(watchers):
            conn.write(wire[conn.fmt])


SESSION_ENDED = "this table's session has ended; scan the code on the table again"
TOKEN_EXPIRED = "token expired"

LIMITS = {
    "max_frame_bytes": protocol.MAX_FRAME_BYTES,
    "max_channels": protocol.MAX_CHANNELS,
    "max_errors": protocol.MAX_ERRORS,
    "max_connections_per_token": protocol.MAX_CONNECTIONS_PER_TOKEN,
}


_HANDSHAKE_DONE = Request("/ws", Headers())


def _shed_handshake(ws: ServerConnection) -> None:
    """Drop the handshake's request and response (2 KB of headers per connection): websockets
    only checks that a request was received once the connection is open."""
    ws.request = _HANDSHAKE_DONE
    ws.response = None


def _expired(claims: Claims, now: float) -> bool:
    """Past the token's expiry (0: it never expires)."""
    return bool(claims.exp) and claims.exp < now


def _answered(sent: asyncio.Future[Awaitable[float]]) -> bool:
    """The ping went out and its pong came back."""
    if not sent.done() or sent.cancelled() or sent.exception() is not None:
        return False
    pong = sent.result()
    return isinstance(pong, asyncio.Future) and pong.done()


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a ping's failure (the connection closed meanwhile) as seen."""
    if not task.cancelled():
        task.exception()


def select_subprotocol(connection: ServerConnection,
                       offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """The first known subprotocol the client offers; none means JSON."""
    for name in offered:
        if name in protocol.SUBPROTOCOLS:
            return name
    return None
