"""Keep-alive for thousands of users in one process: geventhttpclient's pool check, by peek.

Before it reuses a pooled connection, geventhttpclient asks ``select.select([sock], [], [],
0.0)`` whether the idle socket is readable (closed by the server, or dirty). With a zero
timeout gevent hands that call to the system's ``select()``, which refuses descriptors from
1024 up (``ValueError: filedescriptor out of range``), and the pool takes the error for a
dead connection. A Locust worker holding a few thousand screens has nothing below 1024, so
every request opened and closed a connection of its own: about a quarter of the worker's
CPU went to connecting, resolving ``127.0.0.1`` in gevent's thread pool and closing.

:func:`install` replaces the check with a non-blocking ``MSG_PEEK``: no data and no error
means idle and alive; end of stream, data or an error means dead. It works for any
descriptor and never waits.
"""

from __future__ import annotations

import socket
from typing import Any

from geventhttpclient.connectionpool import ConnectionPool


def alive(sock: Any) -> bool:
    """Whether an idle pooled socket can carry another request."""
    if sock is None:
        return False
    try:
        if sock.fileno() < 0:
            return False
        # gevent's socket would wait on EAGAIN; its system socket answers at once
        getattr(sock, "_sock", sock).recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True  # nothing to read: idle, as a kept-alive connection should be
    except (OSError, ValueError):
        return False
    return False  # end of stream (closed by the server) or stray bytes: not reusable


def install() -> None:
    ConnectionPool._is_socket_alive = lambda self, sock: alive(sock)  # type: ignore[method-assign]
