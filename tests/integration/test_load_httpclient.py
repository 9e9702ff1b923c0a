"""The load generator's HTTP client: one kept-alive connection per user, a fresh one when the
server has closed it, and every request reported to Locust's statistics as it went."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from loadtests.httpclient import Session


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_GET(self) -> None:
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"mala ", b"tofu", b""):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            return
        if self.path == "/slow":
            time.sleep(2)
        status = 404 if self.path == "/missing" else 200
        body = b'{"path": "%s"}' % self.path.encode()
        self.send_response(status)
        if self.path == "/bye":  # answers, says so, closes
            self.send_header("Connection", "close")
        if self.path == "/drop":  # answers, then drops the connection without a word
            self.close_connection = True
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Trace", "t1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        if self.path == "/vanish":  # reads the request, closes without an answer
            self.close_connection = True
            return
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.accepted = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def get_request(self) -> tuple[socket.socket, Any]:
        got = super().get_request()
        self.accepted += 1
        return got

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Events:
    """Locust's ``request`` event hook, as the client fires it."""

    def __init__(self) -> None:
        self.fired: list[dict[str, Any]] = []

    def fire(self, **kw: Any) -> None:
        self.fired.append(kw)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_twenty_requests_share_one_connection(server: Server) -> None:
    events = Events()
    session = Session(server.url, events)
    for n in range(20):
        resp = session.get(f"/menu/{n}", headers={"Authorization": "Bearer t"}, name="menu")
        assert resp.status_code == 200
        assert resp.json() == {"path": f"/menu/{n}"}
    assert server.accepted == 1 and session.connects == 1
    assert resp.headers.get("X-TRACE") == "t1" and resp.headers["content-type"] == \
        "application/json"
    assert server.requests[0][2]["Authorization"] == "Bearer t"
    timed = [e for e in events.fired if e["request_type"] == "GET"]
    assert [e["name"] for e in timed] == ["menu"] * 20
    assert all(e["exception"] is None and e["response_length"] == len(b'{"path": "/menu/0"}')
               for e in timed[:10])
    session.close()


def test_a_body_goes_out_with_its_length_and_comes_back(server: Server) -> None:
    session = Session(server.url)
    resp = session.post("/orders", data='{"items": ["麻婆豆腐"]}'.encode(),
                        headers={"Content-Type": "application/json"})
    assert resp.status_code == 201
    assert resp.json() == {"items": ["麻婆豆腐"]}
    assert server.requests[-1][2]["Content-Length"] == str(len('{"items": ["麻婆豆腐"]}'.encode()))


def test_connection_close_and_a_silently_dropped_connection_are_replaced(
        server: Server) -> None:
    events = Events()
    session = Session(server.url, events)
    assert session.get("/bye").status_code == 200
    assert session.get("/after-bye").status_code == 200
    assert session.get("/drop").status_code == 200
    time.sleep(0.1)  # the server has closed it; the client still holds it
    assert session.get("/after-drop").json() == {"path": "/after-drop"}
    assert server.accepted == 3
    assert all(e["exception"] is None for e in events.fired)
    assert [p for _, p, _ in server.requests] == ["/bye", "/after-bye", "/drop", "/after-drop"]


def test_chunked_answers_are_joined(server: Server) -> None:
    session = Session(server.url)
    assert session.get("/chunked").content == b"mala tofu"
    assert session.get("/next").json() == {"path": "/next"}  # the connection is still in step
    assert server.accepted == 1


def test_caller_decides_with_catch_response(server: Server) -> None:
    events = Events()
    session = Session(server.url, events)
    with session.get("/missing", name="stale", catch_response=True) as resp:
        assert resp.status_code == 404
        resp.success()  # e.g. a move the screen saw go stale: no failure
    with session.get("/fine", name="checked", catch_response=True) as resp:
        resp.failure("the answer named the wrong order")
    with session.get("/fine", name="untouched", catch_response=True):
        pass
    assert [(e["name"], str(e["exception"]) if e["exception"] else None)
            for e in events.fired] == [("stale", None),
                                       ("checked", "the answer named the wrong order"),
                                       ("untouched", None)]


def test_failures_are_reported_with_their_reason(server: Server) -> None:
    events = Events()
    session = Session(server.url, events)
    assert session.get("/missing", name="missing").status_code == 404
    assert "404" in str(events.fired[-1]["exception"])

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    refused = Session(f"http://127.0.0.1:{port}", events)
    resp = refused.get("/", name="refused")
    assert resp.status_code == 0 and isinstance(resp.error, ConnectionRefusedError)
    assert events.fired[-1]["name"] == "refused"
    assert isinstance(events.fired[-1]["exception"], ConnectionRefusedError)
    with refused.get("/", name="refused", catch_response=True) as resp:
        resp.failure(f"{resp.status_code}: {resp.text}")  # as the users word it
    assert "ConnectionRefusedError" in str(events.fired[-1]["exception"])


def test_a_request_on_a_fresh_connection_is_not_sent_twice(server: Server) -> None:
    """Only a kept-alive connection found closed is retried; a request the server took and
    never answered fails, once."""
    events = Events()
    session = Session(server.url, events)
    resp = session.post("/vanish", data=b"{}", name="vanish")
    assert resp.status_code == 0 and isinstance(resp.error, ConnectionResetError)
    assert [p for _, p, _ in server.requests] == ["/vanish"]
    assert events.fired[-1]["exception"] is not None


def test_a_slow_answer_times_out(server: Server) -> None:
    events = Events()
    session = Session(server.url, events, timeout=0.3)
    t0 = time.monotonic()
    resp = session.get("/slow", name="slow")
    assert time.monotonic() - t0 < 1.5
    assert resp.status_code == 0 and isinstance(resp.error, TimeoutError)
    assert session.sock is None  # a late answer must not be read as the next one's
    time.sleep(2)
    assert session.get("/later").json() == {"path": "/later"}


class LateReader(Session):
    """A session whose process is busy for 300 ms before it reads each answer (as a
    generator's greenlet waits behind thousands of others)."""

    def _read_head(self, sock: socket.socket, resp: Any) -> None:
        time.sleep(0.3)
        super()._read_head(sock, resp)


def test_an_answer_read_late_is_timed_to_its_arrival(server: Server) -> None:
    """The request's time ends when the answer arrived; the wait to read it is reported
    apart (request type GEN, one request in ten)."""
    events = Events()
    session = LateReader(server.url, events)
    for _ in range(10):
        resp = session.get("/menu", name="menu")
        assert resp.status_code == 200
        assert resp.elapsed_ms < 150 <= 300 <= resp.read_ms
    timed = [e for e in events.fired if e["request_type"] == "GET"]
    assert len(timed) == 10 and all(e["response_time"] < 150 for e in timed)
    [waited] = [e for e in events.fired if e["request_type"] == "GEN"]
    assert waited["name"] == "answer waited to be read" and waited["response_time"] >= 250
    session.close()
