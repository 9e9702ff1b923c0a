"""A command's pre-checks, run inside Redis in the same trip as the command's read.

Before a command reads and commits, the API checks, in this order: the token is not revoked,
the restaurant exists, a diner's table is still seated under the token's session, then counts
the rate limits (a diner's phone and table; for a new order, the table's orders unless the
Idempotency-Key already has an answer). Done one trip each, that is up to five round trips
before the read. :class:`Gate` gathers them into one Lua script (``kitchen/lua/gate.lua``)
queued as the first command of the read's pipeline (:meth:`kitchen.store.Store.read`); the
script stops at the first check that fails, so a request refused for one reason counts
against no limit it did not reach, exactly as checking one step at a time would.

Only the Redis checks move: everything a request can be refused for without Redis (token
signature, role, scope, body) is still checked first, and an endpoint falls back to the
step-by-step path when one of those refuses, so every refusal keeps its precedence
(:func:`api.endpoint.serve`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from api import auth
from api.ratelimit import Counter
from kitchen import codec, keys
from kitchen.tokens import Claims

SCRIPT = resources.files("kitchen").joinpath("lua/gate.lua").read_text()
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()


@dataclass
class Gate:
    """The Redis pre-checks of one command; sent once, with the command's first read."""

    rid: str
    claims: Claims
    idem: str = "-"  # the scoped Idempotency-Key
    groups: list[tuple[bool, tuple[Counter, ...]]] = field(default_factory=list)
    sent: bool = False

    def count(self, *counters: Counter, unless_answered: bool = False) -> None:
        """Count these limits together (then check each, in order), after the ones before.
        ``unless_answered``: not when the idempotency key has an answer (a retry)."""
        self.groups.append((unless_answered, counters))

    def build(self, pipe: Pipeline) -> None:
        """Queue the script on the read's pipeline."""
        self.sent = True
        r, claims = self.rid, self.claims
        key_list = [keys.revoked(r), keys.menu(r), keys.tables(r), keys.idem(r, self.idem)]
        plan_groups = []
        for unless, counters in self.groups:
            ks = []
            for c in counters:
                key_list.append(c.key(r))
                ks.append([len(key_list), c.ttl, c.window.limit])
            plan_groups.append({"u": 1 if unless else 0, "k": ks})
        diner = claims.role == auth.DINER
        plan = {"j": claims.jti, "t": claims.table if diner else "",
                "s": claims.session if diner else "", "c": plan_groups}
        pipe.evalsha(SHA, len(key_list), *key_list, codec.pack_for_lua(plan))

    def check(self, reply: Any) -> None:
        """Raise the refusal the script answered, as the step-by-step checks would."""
        status = reply[0]
        if status == b"ok":
            return
        if status == b"revoked":
            auth.raise_revoked()
        if status == b"restaurant":
            auth.raise_unknown(self.rid)
        if status == b"session":
            auth.check_session(self.claims, None)
        if status == b"limit":
            _, group, n, count = reply
            self.groups[int(group) - 1][1][int(n) - 1].check(int(count))
        raise RuntimeError(f"unexpected answer from the gate script: {reply!r}")

    @staticmethod
    async def load(redis: Redis) -> None:
        """Load the script into a Redis that lost it (restarted, flushed)."""
        await redis.script_load(SCRIPT)
