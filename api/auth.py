"""Who is calling, and whether they may: bearer tokens checked against their scope.

A request's token is verified (signature, expiry), then in one Redis round trip:
not revoked (``k:{R}:revoked``), the restaurant exists, and — for a diner — the table's
current session is the token's (a cleared, transferred or merged table ends it).
Scope: a token acts only for its restaurant(s); a diner only for its table; a station only
for its station's dishes; expo and merchant tokens for the whole restaurant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from redis.asyncio.client import Pipeline
from starlette.requests import Request

from api.context import Services
from api.errors import SessionEnded
from kitchen import codec, keys, tokens
from kitchen.errors import AuthError, ForbiddenError, NotFound
from kitchen.model import TableState, TableStatus
from kitchen.tokens import Claims

DINER, STATION, EXPO, MERCHANT = "diner", "station", "expo", "merchant"
KITCHEN = (STATION, EXPO, MERCHANT)
STAFF = (EXPO, MERCHANT)
EVERYONE = (DINER, STATION, EXPO, MERCHANT)


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise AuthError("an Authorization: Bearer <token> header is required")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def subject(claims: Claims) -> str:
    """What idempotency keys are scoped to: one token (one phone, one tablet)."""
    return f"{claims.role}.{claims.jti}"


def raise_revoked() -> NoReturn:
    raise AuthError("this token was revoked")


def raise_unknown(rid: str) -> NoReturn:
    raise NotFound(f"no restaurant {rid!r}", restaurant_id=rid)


def check_session(claims: Claims, table: TableState | None) -> None:
    """A diner token works only while its table is seated under the token's session."""
    if (table is None or table.status == TableStatus.FREE or not claims.session
            or table.session != claims.session):
        raise SessionEnded("this table's session has ended; scan the code on the table again",
                           table=claims.table)


def check_table(claims: Claims, table_no: str) -> None:
    """A diner acts only for the table of its token."""
    if claims.role == DINER and claims.table != table_no:
        raise ForbiddenError("this token is for another table", table=table_no)


def check_station(claims: Claims, station_id: str) -> None:
    """A station acts only for its own station."""
    if claims.role == STATION and claims.station != station_id:
        raise ForbiddenError("this token is for another station", station=station_id)


def station_scope(claims: Claims) -> str | None:
    """The station a kitchen token is limited to; None for expo and merchant (all)."""
    return claims.station if claims.role == STATION else None


def verified(request: Request, svc: Services, roles: Sequence[str]) -> tuple[Claims, str]:
    """The token's claims and the restaurant asked for, from what the request carries alone
    (signature, expiry, role, restaurant); the checks against Redis come after."""
    claims = tokens.verify(bearer(request), svc.settings.secret_keys)
    if claims.role == "qr":
        raise ForbiddenError("a table's QR token only opens a diner session "
                             "(POST /api/diner/session)")
    claims.require_role(*roles)
    rid = str(request.path_params.get("rid", claims.restaurant))
    claims.require_restaurant(rid)
    return claims, rid


def check_scope(request: Request, claims: Claims) -> None:
    """The path's table and station are the token's own (403 otherwise)."""
    params = request.path_params
    if "table" in params:
        check_table(claims, str(params["table"]))
    if "station" in params:
        check_station(claims, str(params["station"]))


async def authenticate(request: Request, svc: Services, roles: Sequence[str]
                       ) -> tuple[Claims, TableState | None]:
    """The caller's claims (and, for a diner, its table) or an AuthError / NotFound."""
    claims, rid = verified(request, svc, roles)

    def build(pipe: Pipeline) -> None:
        pipe.sismember(keys.revoked(rid), claims.jti)
        pipe.exists(keys.menu(rid))
        if claims.role == DINER:
            pipe.hget(keys.tables(rid), claims.table)

    revoked, exists, *rest = await svc.store.batch.run(build)  # one trip shared by requests
    if revoked:
        raise_revoked()
    if not exists:
        raise_unknown(rid)
    table = None
    if claims.role == DINER:
        table = TableState.from_dict(codec.unpack(rest[0])) if rest[0] else None
        check_session(claims, table)
    check_scope(request, claims)
    return claims, table
