"""Every limit the API enforces, in one place (the order limits come from kitchen.ordering)."""

from __future__ import annotations

from dataclasses import dataclass

from kitchen import ordering, tables

MAX_ITEMS = ordering.MAX_ITEMS
MAX_QTY = ordering.MAX_QTY
MAX_NOTE = ordering.MAX_NOTE
MAX_COURSE = ordering.MAX_COURSE
MAX_GUESTS = tables.MAX_GUESTS
MAX_IDEMPOTENCY_KEY = 100
MAX_ID = 64  # ids of dishes, categories, stations, tables chosen by a merchant
MAX_NAME = 100  # names and labels
MAX_REASON = 200  # a waiter call's reason
MAX_LIST = 200  # dishes in a menu edit request, line ids in one action
MAX_TOKEN_TTL = 365 * 86_400


@dataclass(frozen=True)
class Limits:
    """Limits an operator may tune per deployment (the rest are fixed above)."""

    body_bytes: int = 64 * 1024
    orders_per_table: int = 20  # orders placed at one table …
    orders_window_s: int = 60  # … per this many seconds (fixed window)
    diner_commands: int = 120  # commands (cart taps, waiter calls, orders…) of one diner token …
    diner_window_s: int = 60  # … per this many seconds: a phone cannot flood the log
    table_commands: int = 300  # … and of all diner tokens of one table together (a fresh scan
    # of the code mints a new token, so the table's budget is what bounds a flood)
