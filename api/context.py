"""What a request handler works with: the shared services and one call's checked inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from redis.asyncio import Redis
from starlette.requests import Request

from api.limits import Limits
from kitchen.db import Queries
from kitchen.errors import NotFound
from kitchen.frozen import quick_init
from kitchen.model import TableState
from kitchen.settings import Settings
from kitchen.store import Store
from kitchen.tokens import Claims

if TYPE_CHECKING:
    from api.gate import Gate


@dataclass(frozen=True)
class Services:
    """Opened once by the app's lifespan and shared by every request."""

    settings: Settings
    limits: Limits
    redis: Redis
    pool: asyncpg.Pool[Any]
    store: Store
    queries: Queries


@dataclass
class Call:
    """One authorised request: its token, parsed body and scoped idempotency key."""

    request: Request
    svc: Services
    claims: Claims | None = None
    body: dict[str, Any] = field(default_factory=dict)
    idem: str | None = None  # the Idempotency-Key, scoped to the token's subject
    fingerprint: str = ""
    now: int = 0  # ms, taken once per request
    table: TableState | None = None  # a diner's table as read while authorising
    gate: Gate | None = None  # pre-checks still to run in Redis with the first read

    @property
    def rid(self) -> str:
        return str(self.request.path_params["rid"])

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    @property
    def who(self) -> Claims:
        if self.claims is None:  # pragma: no cover - public endpoints never ask
            raise NotFound("no token")
        return self.claims

    @property
    def role(self) -> str:
        return self.who.role

    @property
    def by(self) -> str:
        """Who acted, as recorded in events: ``station:wok``, ``merchant:店长``, ``diner:A1``."""
        c = self.who
        detail = c.station or c.table or c.name or c.jti[:8]
        return f"{c.role}:{detail}"


@quick_init
@dataclass(frozen=True)
class Reply:
    """A command's answer: the body, its status, and whether it repeats a first answer."""

    body: Any
    status: int = 200
    replayed: bool = False
