"""When bytes reached the generator's machine: the kernel's receive timestamp of a socket read.

A load generator process holds thousands of people: when an answer or a frame arrives, the
greenlet that reads it may wait behind hundreds of others before it runs. A real phone or
kitchen tablet has no such wait, so latencies are measured to the moment the bytes arrived
(``SO_TIMESTAMPNS``: the kernel stamps every packet it receives, on the wall clock), not to
the moment the generator got round to reading them. The generator's own wait is reported
beside them (request type ``GEN``).

Where the kernel offers no stamps (not Linux), :func:`recv` returns the time of the read.
"""

from __future__ import annotations

import socket
import struct
import time

# Linux's value on x86 and Arm (the socket module does not name it)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("qq")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)

GEN = "GEN"  # Locust request type of the generator's own wait
SAMPLE_EVERY = 10  # one read in this many reports the wait (a statistic, not every read)


def enable(sock: socket.socket) -> bool:
    """Ask the kernel to stamp what ``sock`` receives; False where it cannot."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def recv(sock: socket.socket, size: int, stamped: bool) -> tuple[bytes, float]:
    """One read of up to ``size`` bytes, and when its last bytes arrived (wall clock, s)."""
    if not stamped:
        return sock.recv(size), time.time()
    data, ancillary, _flags, _addr = sock.recvmsg(size, _ANCILLARY)
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanos = _TIMESPEC.unpack_from(payload)
            return data, seconds + nanos / 1e9
    return data, time.time()  # end of stream, or a read the kernel did not stamp
