"""A keep-alive HTTP/1.1 client for the load generator's users, reporting to Locust.

Locust's ``FastHttpUser`` (geventhttpclient) spent about 42 % of a worker's CPU on each
request's way in and out: copying and merging header objects, a pool per user, a response
object built over a C parser, a compatibility request object. A user here sends to one API
over one connection, one request at a time, so all of that reduces to writing the request
bytes and reading one response by its ``Content-Length``.

:class:`Session` keeps that one connection (opened on first use, opened again after the
server closed it) and fires Locust's ``request`` event for every request, exactly as
``FastHttpSession`` does: method as the request type, the given name, the time from sending
to the arrival of the answer's last bytes (the kernel's receive stamp,
:mod:`loadtests.stamps`: not the moment this process got round to reading them), the body's
length, and the error if it failed. With
``catch_response=True`` the answer is a context manager in which the caller decides
(:meth:`Response.success`, :meth:`Response.failure`); without it, a status of 400 or more is
a failure.

A request whose connection turns out to be closed before a byte of the answer came (the
server dropped the idle connection as the request left) is sent once more on a new
connection; every command of the load users carries an ``Idempotency-Key``, so a repeat
answers the first. Under Locust the socket module is gevent's: a read waits in the hub, not
in the process.
"""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from loadtests import stamps

READ_BYTES = 65_536
MAX_HEAD = 65_536


class HttpError(Exception):
    """The answer was a failure (status ≥ 400, or the caller said so)."""


class Unanswered(ConnectionResetError):
    """The connection ended before a byte of the answer came."""


class Headers(dict[str, str]):
    """Response headers: names in lower case, looked up in any case."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class Response:
    """One answer: ``status_code`` (0 when none came), ``headers``, ``content``; ``error``
    is why the request failed without an answer."""

    def __init__(self, session: Session, method: str, name: str) -> None:
        self._session = session
        self._method = method
        self._name = name
        self.status_code = 0
        self.headers = Headers()
        self.content = b""
        self.error: BaseException | None = None
        self.elapsed_ms = 0.0  # sent → the answer's last bytes arrived
        self.read_ms = 0.0  # sent → read by this process (includes the generator's own wait)
        self._decided = False  # the caller said success or failure (catch_response)
        self._failure: BaseException | None = None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def ok(self) -> bool:
        return self.error is None and 0 < self.status_code < 400

    # -------------------------------------------------------------- catch_response

    def success(self) -> None:
        self._decided, self._failure = True, None

    def failure(self, why: str | BaseException) -> None:
        """Report the request failed; when no answer came, the reason it did not goes too."""
        self._decided = True
        if isinstance(why, BaseException):
            self._failure = why
        else:
            self._failure = HttpError(why if self.error is None else f"{why} ({self.error!r})")

    def __enter__(self) -> Response:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if exc is not None:
            self.failure(exc)
        self._fire()
        return False

    def _fire(self) -> None:
        failure = self._failure
        if not self._decided and not self.ok:
            failure = self.error or HttpError(f"{self.status_code}: {self.text[:200]}")
        self._session.fire(self._method, self._name, self.elapsed_ms, len(self.content),
                           failure)


class Session:
    """One user's connection to ``base_url`` (``http://host:port``)."""

    def __init__(self, base_url: str, request_event: Any = None, *,
                 connect_timeout: float = 10.0, timeout: float = 30.0) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http":
            raise ValueError("this client speaks http:// only (the load tests' loopback)")
        self.address = (url.hostname or "127.0.0.1", url.port or 80)
        self.host_header = url.netloc
        self.request_event = request_event
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.connects = 0  # connections opened (a kept-alive session opens one)
        self._buffer = b""
        self._stamped = False  # the kernel stamps what the socket receives
        self._arrived = 0.0  # when the last bytes read arrived (wall clock, s)
        self._requests = 0

    def fire(self, method: str, name: str, ms: float, length: int,
             exc: BaseException | None) -> None:
        if self.request_event is not None:
            self.request_event.fire(request_type=method, name=name, response_time=ms,
                                    response_length=length, exception=exc, context={})

    # -------------------------------------------------------------- requests

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, data: bytes = b"", **kw: Any) -> Response:
        return self.request("POST", path, data=data, **kw)

    def request(self, method: str, path: str, *, data: bytes = b"",
                headers: dict[str, str] | None = None, name: str | None = None,
                catch_response: bool = False) -> Response:
        """Send one request and read its answer. With ``catch_response`` the result must be
        used as a context manager (the event fires as it exits)."""
        head = [f"{method} {path} HTTP/1.1\r\nHost: {self.host_header}\r\n"]
        if data or method != "GET":
            head.append(f"Content-Length: {len(data)}\r\n")
        for key, value in (headers or {}).items():
            head.append(f"{key}: {value}\r\n")
        head.append("\r\n")
        raw = "".join(head).encode("latin-1") + data
        resp = Response(self, method, name or path)
        started = time.time()
        self._arrived = 0.0
        try:
            self._exchange(raw, resp)
        except (OSError, ValueError) as exc:  # refused, reset, timed out, a garbled answer
            self.close()
            resp.error = exc
        done = time.time()
        resp.read_ms = (done - started) * 1000
        arrived = self._arrived if resp.error is None and self._arrived else done
        resp.elapsed_ms = max(0.0, min(arrived, done) - started) * 1000
        self._requests += 1
        if self._requests % stamps.SAMPLE_EVERY == 0 and resp.error is None:
            self.fire(stamps.GEN, "answer waited to be read", resp.read_ms - resp.elapsed_ms,
                      0, None)
        if not catch_response:
            resp._fire()
        return resp

    def _exchange(self, raw: bytes, resp: Response) -> None:
        reused = self.sock is not None
        try:
            self._send(raw, resp)
        except Unanswered:
            if not reused:
                raise
            self.close()  # the kept-alive connection was gone: once more on a new one
            self._send(raw, resp)
        assert self.sock is not None
        self._read_body(self.sock, resp)

    def _send(self, raw: bytes, resp: Response) -> None:
        sock = self.sock or self._connect()
        try:
            sock.sendall(raw)
        except ConnectionError as exc:
            raise Unanswered(f"the connection broke as the request left: {exc}") from exc
        self._read_head(sock, resp)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        self._stamped = stamps.enable(sock)
        self.sock = sock
        self.connects += 1
        self._buffer = b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self._buffer = b""

    # -------------------------------------------------------------- the answer

    def _take(self, sock: socket.socket) -> bytes:
        """One read; notes when its bytes arrived."""
        data, self._arrived = stamps.recv(sock, READ_BYTES, self._stamped)
        return data

    def _recv(self, sock: socket.socket) -> bytes:
        data = self._take(sock)
        if not data:
            raise ConnectionResetError("the server closed the connection mid-answer")
        return data

    def _read_head(self, sock: socket.socket, resp: Response) -> None:
        buf = self._buffer
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > MAX_HEAD:
                raise ValueError("response head too long")
            try:
                data = self._take(sock)
            except ConnectionError as exc:
                if buf:
                    raise
                raise Unanswered(f"the connection broke before an answer: {exc}") from exc
            if not data:
                if buf:
                    raise ConnectionResetError("the server closed the connection mid-answer")
                raise Unanswered("the server closed the connection without an answer")
            buf += data
        lines = buf[:end].decode("latin-1").split("\r\n")
        self._buffer = buf[end + 4:]
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
        resp.status_code = int(rest[:3])
        headers = resp.headers
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()

    def _read_body(self, sock: socket.socket, resp: Response) -> None:
        headers = resp.headers
        if "chunked" in headers.get("transfer-encoding", "").lower():
            resp.content = self._read_chunked(sock)
        elif "content-length" in headers:
            size = int(headers["content-length"])
            buf = self._buffer
            while len(buf) < size:
                buf += self._recv(sock)
            resp.content, self._buffer = buf[:size], buf[size:]
        elif resp.status_code in (204, 304) or resp.status_code < 200:
            resp.content = b""
        else:  # no length: the body runs to the end of the connection
            parts = [self._buffer]
            while data := self._take(sock):
                parts.append(data)
            resp.content = b"".join(parts)
            self.close()
            return
        if headers.get("connection", "").lower() == "close":
            self.close()

    def _read_chunked(self, sock: socket.socket) -> bytes:
        out: list[bytes] = []
        buf = self._buffer
        while True:
            while (nl := buf.find(b"\r\n")) < 0:
                buf += self._recv(sock)
            size = int(buf[:nl].split(b";")[0], 16)
            buf = buf[nl + 2:]
            while len(buf) < size + 2:
                buf += self._recv(sock)
            if size == 0:  # no trailers are sent to these users
                self._buffer = buf[2:]
                return b"".join(out)
            out.append(buf[:size])
            buf = buf[size + 2:]
