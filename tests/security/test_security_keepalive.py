"""The API keeps an idle keep-alive connection for API_KEEP_ALIVE_S, then closes it."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kitchen.embedded import EmbeddedPostgres
from tests.security.support import api_process

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n"


def _answer(sock: socket.socket) -> bytes:
    """One whole answer (head and body) to a request on this connection."""
    sock.sendall(REQUEST)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(65536)
        if not chunk:
            return got
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_an_idle_connection_is_kept_for_the_keep_alive_time(
        postgres_server: EmbeddedPostgres, pg_template: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A tablet that taps again within API_KEEP_ALIVE_S reuses its connection; one idle for
    longer finds it closed (uvicorn alone would close it after 5 s)."""
    monkeypatch.setenv("API_KEEP_ALIVE_S", "2")
    with api_process(postgres_server, pg_template, tmp_path) as api:
        where = urlsplit(api.url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
            assert _answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(1.0)
            assert _answer(sock).startswith(b"HTTP/1.1 200")  # the same connection
            time.sleep(3.0)
            sock.settimeout(2)
            assert sock.recv(1) == b""  # closed by the server meanwhile
