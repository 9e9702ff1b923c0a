"""The load generator's HTTP users keep their connections with thousands of sockets open
(a Locust worker holding its screens), and still drop those the server has closed."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# runs in a process of its own: gevent's monkey-patching must come first, as in Locust
PROGRAM = textwrap.dedent('''
    from gevent import monkey; monkey.patch_all()
    import json, socket, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import gevent
    from geventhttpclient import HTTPClient
    from geventhttpclient.connectionpool import ConnectionPool

    if sys.argv[1] == "peek":
        from loadtests import keepalive
        keepalive.install()

    accepted = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            body = b"ok"
            self.send_response(200)
            if self.path == "/bye":
                self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def get_request(self):
            got = super().get_request()
            accepted.append(got[1])
            return got

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    filler = [socket.socket() for _ in range(1100)]  # push the client past descriptor 1024
    client = HTTPClient("127.0.0.1", server.server_address[1], concurrency=1)
    for _ in range(20):
        client.get("/").read()
    kept = len(accepted)
    client.get("/bye").read()       # the server closes this one after answering
    gevent.sleep(0.1)
    client.get("/").read()
    print(json.dumps({"kept": kept, "after_close": len(accepted) - kept}))
''')


def _run(mode: str) -> dict[str, int]:
    import json

    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=ROOT, timeout=60,
                          capture_output=True, text=True, check=True)
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_connections_are_reused_past_descriptor_1024() -> None:
    peek = _run("peek")
    assert peek == {"kept": 1, "after_close": 1}  # one connection for twenty requests


def test_without_the_fix_every_request_connects() -> None:
    """What the fix is for: the library's own check throws every connection away there."""
    assert _run("select")["kept"] == 20


def test_alive_tells_idle_from_closed_and_dirty() -> None:
    from loadtests.keepalive import alive

    a, b = socket.socketpair()
    try:
        assert alive(a)
        b.sendall(b"x")
        assert not alive(a)  # stray bytes: the connection is not in a known state
        a.recv(1)
        b.close()
        assert not alive(a)  # end of stream: closed by the other side
    finally:
        a.close()
    assert not alive(a) and not alive(None)
