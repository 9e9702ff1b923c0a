"""The print state of every ticket, in ``k:{R}:prints``.

One hash field per order and station (``"<order_id>:<station_id>"``) holds, as msgpack::

    {"order_id", "station_id", "table_no", "order_no",
     "state": "pending" | "printed" | "failed",   # failed if any slip failed for good,
     "error": last error text, "updated_at": ms,    # else pending if any slip waits
     "slips": [{"id", "state", "attempts", "error", "lease", "printed_at", "slip": {...}}],
     "done": [ids of finished slips no longer kept]}

so the kitchen screen can show, for each ticket, whether its paper came out. Every change is a
compare-and-set of the field (a tiny Lua script), so several printer workers, and the slips
added while others are being printed, never overwrite each other.

Past ``KEEP_SLIPS`` slips the oldest finished ones (printed or failed) are let go, their ids
kept in ``done`` so that a late redelivery of their event never prints them again; a slip
still waiting is never let go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from kitchen import codec, keys
from workers.tickets import Slip

Record = dict[str, Any]
KEEP_SLIPS = 20
KEEP_DONE_IDS = 200

CAS = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur == false then cur = '' end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


def field_of(order_id: str, station_id: str) -> str:
    return f"{order_id}:{station_id}"


def summarize(record: Record, now: int) -> Record:
    states = {s["state"] for s in record["slips"]}
    record["state"] = ("failed" if "failed" in states else
                       "pending" if "pending" in states else "printed")
    record["updated_at"] = now
    return record


def with_slip(record: Record | None, slip: Slip, now: int) -> Record | None:
    """``record`` with ``slip`` waiting to be printed; None if it is there already."""
    if record is not None and (slip.id in record.get("done", ())
                               or any(s["id"] == slip.id for s in record["slips"])):
        return None
    rec = record or {"order_id": slip.order_id, "station_id": slip.station_id,
                     "table_no": slip.ticket.table_no, "order_no": slip.ticket.order_no,
                     "error": "", "slips": []}
    rec["table_no"] = slip.ticket.table_no
    slips = [*rec["slips"], {"id": slip.id, "state": "pending", "attempts": 0, "error": "",
                             "lease": 0, "printed_at": 0, "slip": slip.to_dict()}]
    finished = [n for n, s in enumerate(slips) if s["state"] != "pending"]
    gone = set(finished[:max(0, len(slips) - KEEP_SLIPS)])
    if gone:
        rec["done"] = [*rec.get("done", ()), *(slips[n]["id"] for n in sorted(gone))][
            -KEEP_DONE_IDS:]
    rec["slips"] = [s for n, s in enumerate(slips) if n not in gone]
    return summarize(rec, now)


def find(record: Record | None, slip_id: str) -> Record | None:
    if record is None:
        return None
    return next((s for s in record["slips"] if s["id"] == slip_id), None)


def claimed(record: Record | None, slip_id: str, now: int, lease_ms: int) -> Record | None:
    """``record`` with the slip leased to this attempt; None if it is not pending or another
    attempt holds it."""
    slip = find(record, slip_id)
    if record is None or slip is None or slip["state"] != "pending" or slip["lease"] > now:
        return None
    slip["lease"] = now + lease_ms
    slip["attempts"] += 1
    return record


def printed(record: Record | None, slip_id: str, now: int) -> Record | None:
    slip = find(record, slip_id)
    if record is None or slip is None:
        return None
    slip.update(state="printed", lease=0, printed_at=now, error="")
    return summarize(record, now)


def attempt_failed(record: Record | None, slip_id: str, now: int, error: str,
                   give_up: bool) -> Record | None:
    slip = find(record, slip_id)
    if record is None or slip is None or slip["state"] != "pending":
        return None
    slip.update(lease=0, error=error, state="failed" if give_up else "pending")
    record["error"] = error
    return summarize(record, now)


class PrintBook:
    """Reads and compare-and-sets the print state of a restaurant's tickets."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._cas = redis.register_script(CAS)

    async def get(self, restaurant_id: str, field: str) -> Record | None:
        raw: bytes | None = await self.redis.hget(keys.prints(restaurant_id), field)  # type: ignore[assignment]
        return None if raw is None else dict(codec.unpack(raw))

    async def all(self, restaurant_id: str) -> dict[str, Record]:
        raw: dict[bytes, bytes] = await self.redis.hgetall(keys.prints(restaurant_id))  # type: ignore[assignment]
        return {k.decode(): dict(codec.unpack(v)) for k, v in raw.items()}

    async def update(self, restaurant_id: str, field: str,
                     change: Callable[[Record | None], Record | None]) -> Record | None:
        """Apply ``change`` atomically; returns the new record, or None if it changed nothing."""
        key = keys.prints(restaurant_id)
        while True:
            raw: bytes | None = await self.redis.hget(key, field)  # type: ignore[assignment]
            new = change(None if raw is None else dict(codec.unpack(raw)))
            if new is None:
                return None
            if await self._cas(keys=[key], args=[field, raw or b"", codec.pack(new)]):
                return new
