"""One endpoint, declared once: its route, who may call it, and what it takes and answers.

The routes table (:mod:`api.routes`) is a list of these; the Starlette routes and the OpenAPI
document are both generated from it, so they cannot disagree. Every request passes the same
steps here: authenticate, require an idempotency key if it changes something, read the body
within its limit, run the handler, and turn any refusal into a JSON error.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api import auth, body, idempotency, ratelimit
from api.context import Call, Reply, Services
from api.errors import JSONAnswer, error_body, refusal
from api.gate import Gate
from api.ratelimit import Counter
from kitchen.errors import InvalidInput, KitchenError, NotFound

log = logging.getLogger("api")

Handler = Callable[[Call], Awaitable[Any]]
_PARAM = re.compile(r"{([a-z_]+)}")
MAX_PATH_PARAM = 128
_CONTROL = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Param:
    """A query parameter, for the OpenAPI document."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[str, ...] = ()  # token roles allowed; () = public, no token
    tag: str = ""
    request: str | None = None  # schema (components/schemas) of the JSON body
    response: str = "Ok"  # schema of the 2xx body
    status: int = 200
    query: tuple[Param, ...] = ()
    description: str = ""
    keyed: bool | None = None  # needs an Idempotency-Key (default: a token-bearing non-GET)
    content_type: str = "application/json"
    # its Redis pre-checks run in its read's trip (api.gate): for handlers whose first Redis
    # step is api.commands.execute
    gated: bool = False

    @property
    def needs_key(self) -> bool:
        if self.keyed is not None:
            return self.keyed
        return self.method != "GET" and bool(self.roles)

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def name(self) -> str:
        return self.handler.__name__

    def route(self) -> Route:
        return Route(self.path, self.asgi, methods=[self.method], name=self.name)

    @property
    def asgi(self) -> _Asgi:
        return _Asgi(self)


class _Asgi:
    """An endpoint as a plain ASGI app. :func:`serve` turns every refusal into an answer
    itself; anything else goes on to the application's exception middleware, as it would
    from a request-function route, without another exception wrapper per request."""

    __slots__ = ("endpoint",)

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive, send))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """The answer alone (what :mod:`api.direct` sends itself)."""
        return await serve(self.endpoint, request)


def check_path(params: dict[str, Any]) -> None:
    """A path parameter no id can be (control characters, overlong) names nothing: 404."""
    for name, value in params.items():
        text = str(value)
        if len(text) > MAX_PATH_PARAM or _CONTROL.search(text):
            raise NotFound(f"no {name} like that", param=name)


async def prepare(ep: Endpoint, request: Request, svc: Services, gated: bool = False) -> Call:
    """Authenticate and authorise, take the idempotency key, count the diner's budget, read
    the body: each step only once the ones before it passed. ``gated``: the steps that need
    Redis are left in ``call.gate``, to run with the command's first read."""
    check_path(request.path_params)
    call = Call(request, svc, now=int(time.time() * 1000))
    if ep.roles:
        if gated:
            claims, rid = auth.verified(request, svc, ep.roles)
            call.claims, call.gate = claims, Gate(rid, claims)
            auth.check_scope(request, claims)
        else:
            call.claims, call.table = await auth.authenticate(request, svc, ep.roles)
    if ep.needs_key:
        assert call.claims is not None
        key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
        call.idem = idempotency.scoped(auth.subject(call.claims), key)
        if call.gate is not None:
            call.gate.idem = call.idem
        if call.claims.role == auth.DINER:
            phone, table = _diner_budget(call)
            if call.gate is not None:
                call.gate.count(phone, table)
            else:
                batch = call.svc.store.batch
                await asyncio.gather(ratelimit.count(batch, call.rid, phone),
                                     ratelimit.count(batch, call.rid, table))
    if ep.method != "GET":
        call.body = await _body(request, svc.limits.body_bytes)
    call.fingerprint = idempotency.fingerprint(ep.method, ep.path, request.path_params,
                                               call.body)
    return call


def _diner_budget(call: Call) -> tuple[Counter, Counter]:
    """Each command of a diner token counts, for the token and for its table; past either
    limit, 429 until the window ends. Anyone at the table can get diner tokens (as many as
    they scan), and every command adds to the log that every screen and worker reads."""
    limits, claims, now = call.svc.limits, call.who, call.now / 1000
    phone = ratelimit.Window(limits.diner_commands, limits.diner_window_s)
    table = ratelimit.Window(limits.table_commands, limits.diner_window_s)
    return (Counter(f"diner:{claims.jti}", phone, "commands from this phone", now),
            Counter(f"table:{claims.table}", table, "commands from this table", now))


_BODY = "kitchen.body"  # the body's outcome (object or refusal), kept in the ASGI scope


async def _body(request: Request, limit: int) -> dict[str, Any]:
    """The JSON body, read once per request: a second reading gives the same outcome."""
    if _BODY not in request.scope:
        try:
            request.scope[_BODY] = await body.read_json(request, limit)
        except KitchenError as exc:
            request.scope[_BODY] = exc
    outcome = request.scope[_BODY]
    if isinstance(outcome, KitchenError):
        raise outcome
    return outcome  # type: ignore[no-any-return]


def render(ep: Endpoint, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        return JSONAnswer(result.body, status_code=result.status,
                          headers={"Idempotent-Replayed": "true" if result.replayed else "false"})
    return JSONAnswer(result, status_code=ep.status)


async def _gated(ep: Endpoint, request: Request, svc: Services) -> Response | None:
    """The request with its Redis pre-checks in its read's trip; None when it was refused
    before that trip: the step-by-step path then gives the refusal its precedence."""
    call = None
    try:
        call = await prepare(ep, request, svc, gated=True)
        result = await ep.handler(call)
    except KitchenError:
        if call is not None and call.gate is not None and call.gate.sent:
            raise
        return None
    if call.gate is not None and not call.gate.sent:
        raise RuntimeError(f"{ep.name} answered without running its pre-checks")
    return render(ep, result)


async def serve(ep: Endpoint, request: Request) -> Response:
    svc: Services = request.app.state.services
    try:
        if ep.gated and (answer := await _gated(ep, request, svc)) is not None:
            return answer
        call = await prepare(ep, request, svc)
        return render(ep, await ep.handler(call))
    except KitchenError as exc:
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.reason)
        return refusal(exc)
    except asyncpg.DataError as exc:  # a value PostgreSQL cannot store: the input's fault
        return refusal(InvalidInput(f"a value cannot be stored: {exc}"))
    except (RedisError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
            OSError) as exc:
        log.error("%s %s: store unreachable: %r", request.method, request.url.path, exc)
        return JSONAnswer(error_body("unavailable", "a store is unreachable; retry"),
                          status_code=503, headers={"Retry-After": "1"})
