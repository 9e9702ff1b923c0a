"""Every Redis key name, in one place.

All keys of one restaurant share the hash tag ``{<restaurant_id>}``, so every multi-key
operation (the commit script touches the log, live state and idempotency keys together) stays
in one hash slot and runs unchanged on Redis Cluster.

    k:{R}:log            stream   the restaurant's ordered event log (field ``e`` = msgpack event)
    k:{R}:epoch          string   identity of the log; changes when the log is rebuilt
    k:{R}:menu           string   msgpack of the Menu (version inside), ending in a digest of
                                  itself that commands check instead of reading it all
                                  (``store.pack_menu``)
    k:{R}:stock          hash     dish_id → remaining (absent = unlimited)
    k:{R}:tables         hash     table_no → msgpack TableState
    k:{R}:orders         hash     order_id → msgpack Order (today's orders)
    k:{R}:open           hash     order_id → when a dish of it turns overdue (ms; 0: none
                                  waiting), for every open order; field ``~`` marks the
                                  index complete (see Store.open_orders)
    k:{R}:seq            string   last ticket number of the day
    k:{R}:cart:T         hash     the shared cart of table T (msgpack items)
    k:{R}:idem:K         hash     first answer to idempotency key K (``resp``, ``pos``)
    k:{R}:revoked        set      ids (jti) of revoked device and staff tokens
    k:{R}:rate:S         string   counter of a fixed-window rate limit S
    k:{R}:presence       hash     screen id → msgpack {role, station, table, hub, seen} (hub)
    k:{R}:prints         hash     "order_id:station_id" → msgpack print state (printer worker)
    k:{R}:reprint        stream   reprint requests (order_id, station_id, by) the printer reads
    k:restaurants        set      ids of every restaurant (what the hub and workers read)
    k:dead               stream   dead-letter entries of every worker group
    k:news               channel  pub/sub: the log key of each commit that appended events (a
                                  hint for readers; they still sweep every log now and then)
"""

from __future__ import annotations

STREAM_FIELD = b"e"
RESTAURANTS = "k:restaurants"
DEAD_LETTER = "k:dead"
NEWS = "k:news"  # spelled out in lua/commit.lua too


def tag(restaurant_id: str) -> str:
    return "k:{" + restaurant_id + "}"


def log(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":log"


def epoch(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":epoch"


def menu(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":menu"


def stock(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":stock"


def tables(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":tables"


def orders(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":orders"


def open_orders(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":open"


OPEN_MARK = "~"  # the field of k:{R}:open that says every open order is indexed


def seq(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":seq"


def cart(restaurant_id: str, table_no: str) -> str:
    return tag(restaurant_id) + ":cart:" + table_no


def idem(restaurant_id: str, key: str) -> str:
    return tag(restaurant_id) + ":idem:" + key


def revoked(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":revoked"


def rate(restaurant_id: str, scope: str) -> str:
    return tag(restaurant_id) + ":rate:" + scope


def restaurant_of_log(key: str | bytes) -> str:
    """``k:{R}:log`` → ``R``."""
    text = key.decode() if isinstance(key, bytes) else key
    start, end = text.index("{") + 1, text.index("}")
    return text[start:end]


def presence(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":presence"


def prints(restaurant_id: str) -> str:
    return tag(restaurant_id) + ":prints"


def reprint(restaurant_id: str) -> str:
    """Stream of reprint requests: fields ``order_id``, ``station_id`` ('' = every station),
    ``by`` and ``ts``; written by the API, read by the printer worker."""
    return tag(restaurant_id) + ":reprint"
