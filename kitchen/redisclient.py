"""Redis clients that queue for a connection instead of failing when all are busy.

redis-py's asyncio pool holds at most 100 connections and raises ``MaxConnectionsError`` ("Too
many connections") the moment a command finds them all busy. A burst that needs more at once
(hundreds of phones subscribing as diners arrive, thousands of screens loading snapshots
after a restart) while Redis syncs its log would then fail requests that a moment's wait
would have served: a load run saw 34 phones refused in one millisecond that way. A client
from :func:`connect` waits up to ``wait_s`` for a free connection, and only then fails.

Over plain TCP (``redis://``) its connections write commands with hiredis's packer in C
(:class:`kitchen.batching.PackedConnection`): redis-py's asyncio connection encodes every
argument in Python, which was a sixteenth of the workers' CPU.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from kitchen.batching import packed_options

MAX_CONNECTIONS = 100
WAIT_S = 5.0


def connect(url: str, *, max_connections: int = MAX_CONNECTIONS, wait_s: float = WAIT_S,
            **options: Any) -> Redis:
    """A client of ``url`` (options as for ``Redis.from_url``) whose commands wait for a
    free pooled connection; it owns its pool (``aclose`` closes both)."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections,
                                           timeout=wait_s, **packed_options(url, options))
    return Redis.from_pool(pool)
