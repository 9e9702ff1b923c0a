"""Idempotency keys: every state-changing request carries one, and a repeat gets the first answer.

The key (header ``Idempotency-Key``, 1–100 of ``A-Z a-z 0-9 _ - : .``) is scoped to the
restaurant and the token's subject, so two phones can never collide. The first answer is kept
with a fingerprint of the request (method, route, path parameters, body): the same key sent
with a different request is refused (422 ``idempotency_key_reused``) instead of silently
answering for something else.

Commands that go through the store keep the answer in the same atomic step as the change
(:func:`api.commands.execute`). The few that write elsewhere (PostgreSQL, the reprint stream)
use :func:`once`: a short lock per key, owned by the request that took it, then the answer is
kept the same way. Should keeping the answer fail after the action was carried out (Redis
gone for a moment), the lock turns into a mark that lasts as long as an answer would: a retry
is told the action was done (409 ``answer_lost``) rather than doing it a second time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.context import Call, Reply
from api.errors import (
    AnswerLost,
    IdempotencyKeyError,
    IdempotencyKeyInvalid,
    InProgress,
    KeyReused,
)
from api.limits import MAX_IDEMPOTENCY_KEY
from kitchen import codec, keys
from kitchen.store import Committed

HEADER = "idempotency-key"
KEY = re.compile(rf"^[A-Za-z0-9_\-:.]{{1,{MAX_IDEMPOTENCY_KEY}}}$")
LOCK_TTL_S = 30
LOST = b"lost"  # the lock's value once the action was done and its answer could not be kept
KEEP_TRIES_S = (0.0, 0.1, 0.4)  # keeping an answer: tried again after these pauses
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def parse_key(value: str | None) -> str:
    if value is None or value == "":
        raise IdempotencyKeyError(
            "this request changes something: send an Idempotency-Key header "
            "(1-100 characters of A-Z a-z 0-9 _ - : .), the same one when retrying")
    if not KEY.match(value):
        raise IdempotencyKeyInvalid(
            "Idempotency-Key must be 1-100 characters of A-Z a-z 0-9 _ - : .")
    return value


def scoped(subject: str, key: str) -> str:
    return f"{subject}|{key}"


def fingerprint(method: str, route: str, params: Mapping[str, Any],
                body: Mapping[str, Any]) -> str:
    """The request's method, route, path parameters and body, as canonical JSON (sorted keys,
    compact), hashed. A body holds no NaN or infinity (:func:`api.body.read_json`)."""
    what = [method, route, sorted((k, str(v)) for k, v in params.items()), body]
    try:
        text = orjson.dumps(what, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers past 64 bits
        text = json.dumps(what, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode()
    return hashlib.sha256(text).hexdigest()[:32]


def wrap(fp: str, body: Any) -> dict[str, Any]:
    """What is kept for a key: the request's fingerprint and the answer's body."""
    return {"fp": fp, "body": body}


def reply(done: Committed, fp: str, status: int = 200) -> Reply:
    """The answer to give for a commit (first or repeated), with the stream position."""
    kept = done.response
    if not isinstance(kept, dict) or kept.get("fp") != fp:
        raise KeyReused("this Idempotency-Key was already used for a different request")
    body = kept["body"]
    if isinstance(body, dict):
        body = {**body, "pos": done.pos}
    return Reply(body, status, replayed=done.duplicate)


async def once(call: Call, produce: Callable[[], Awaitable[tuple[Any, str]]],
               status: int = 200) -> Reply:
    """Run ``produce`` (which answers ``(body, pos)``) at most once per idempotency key."""
    redis, key = call.svc.redis, call.idem
    if key is None:
        body, pos = await produce()
        return reply(Committed(wrap(call.fingerprint, body), pos), call.fingerprint, status)
    idem = keys.idem(call.rid, key)
    lock = keys.idem(call.rid, "~lock|" + key)

    async def kept() -> Reply | None:
        seen, pos = await redis.hmget(idem, ["r", "p"])
        if not isinstance(seen, bytes):
            return None
        done = Committed(codec.unpack(seen), pos.decode() if isinstance(pos, bytes) else "",
                         duplicate=True)
        return reply(done, call.fingerprint, status)

    if (first := await kept()) is not None:
        return first
    owner = secrets.token_hex(8).encode()
    if not await redis.set(lock, owner, nx=True, ex=LOCK_TTL_S):
        if await redis.get(lock) == LOST:
            raise AnswerLost("the request with this Idempotency-Key was carried out, but its "
                             "answer was lost; it is not carried out again")
        raise InProgress("a request with this Idempotency-Key is still running; retry",
                         retry_after_ms=500)
    try:
        first = await kept()
        if first is None:
            body, pos = await produce()
    except BaseException:  # not carried out: a retry may try it
        await release(redis, lock, owner)
        raise
    if first is not None:
        await release(redis, lock, owner)
        return first
    ttl = call.svc.settings.idempotency_ttl
    try:
        await _keep(redis, idem, codec.pack(wrap(call.fingerprint, body)), pos, ttl)
    except (RedisError, OSError):
        try:  # done, answer lost: mark the key so that a retry does not do it again
            await redis.set(lock, LOST, ex=ttl)
        except (RedisError, OSError):
            pass  # Redis is gone: the lock runs out, and a retry after that does it again
        raise
    await release(redis, lock, owner)
    return reply(Committed(wrap(call.fingerprint, body), pos), call.fingerprint, status)


async def _keep(redis: Redis, idem: str, packed: bytes, pos: str, ttl: int) -> None:
    """Keep an answer, trying again over a moment's outage."""
    for n, pause in enumerate(KEEP_TRIES_S):
        await asyncio.sleep(pause)
        try:
            pipe = redis.pipeline(transaction=True)
            pipe.hset(idem, mapping={"r": packed, "p": pos})
            pipe.expire(idem, ttl)
            await pipe.execute()
            return
        except (RedisError, OSError):
            if n == len(KEEP_TRIES_S) - 1:
                raise


async def release(redis: Redis, lock: str, owner: bytes) -> bool:
    """Delete the lock if this request still holds it (not one a later request took after
    this one's ran out)."""
    return bool(await redis.eval(RELEASE, 1, lock, owner))
