"""Device tokens (station tablets, the pass, staff) and the QR codes printed on tables.

Issued tokens are recorded in PostgreSQL (``tokens``) so a merchant can list them; revoking
one records it there and adds its id to ``k:{R}:revoked``, which every request checks.
A table's QR token never expires; it is rebuilt from its recorded id, so the sheet prints the
same code every time until the merchant replaces it (which withdraws the old one).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from api import auth, body, idempotency
from api.context import Call, Reply
from api.limits import MAX_NAME, MAX_TOKEN_TTL
from kitchen import keys, tokens
from kitchen.errors import InvalidInput, NotFound
from kitchen.tokens import Claims

ISSUABLE = (auth.STATION, auth.EXPO, auth.MERCHANT)


def qr_url(call: Call, token: str) -> str:
    return f"{call.svc.settings.public_api_url.rstrip('/')}/t/{token}"


async def issue_token(call: Call) -> Reply:
    """A new device token for a station tablet, the pass, or staff."""
    role = body.text(call.body, "role", max_len=16)
    if role not in ISSUABLE:
        raise InvalidInput(f"role must be one of {', '.join(ISSUABLE)}", field="role")
    station = body.optional_ident(call.body, "station")
    label = body.text(call.body, "label", max_len=MAX_NAME, default="")
    ttl = body.integer(call.body, "ttl_s", lo=60, hi=MAX_TOKEN_TTL,
                       default=call.svc.settings.token_ttl)
    menu = await call.svc.store.menu(call.rid)
    if role == auth.STATION:
        found = menu.station(station) if station else None
        if found is None or found.is_expo:
            raise InvalidInput("a station token needs the id of a kitchen station",
                               field="station")
    elif station:
        raise InvalidInput(f"a {role} token has no station", field="station")

    async def produce() -> tuple[dict[str, Any], str]:
        token, claims = tokens.issue(call.svc.settings.secret_keys, role, [call.rid], ttl=ttl,
                                     station=station, name=label)
        async with call.svc.pool.acquire() as conn:
            await conn.execute(call.svc.queries["api_token_insert"], call.rid, claims.jti, role,
                               station or None, None, label, claims.exp)
        return {"token": token, "id": claims.jti, "role": role, "station": station,
                "label": label, "expires_at": claims.exp}, ""

    return await idempotency.once(call, produce, status=201)


async def list_tokens(call: Call) -> dict[str, Any]:
    """Issued tokens that still work (``?all=1``: revoked and expired ones too)."""
    everything = call.query("all") in ("1", "true", "yes")
    async with call.svc.pool.acquire() as conn:
        rows = await conn.fetch(call.svc.queries["api_tokens"], call.rid, everything)
    return {"tokens": [dict(r) for r in rows]}


async def revoke_token(call: Call) -> Reply:
    """Revoke a token: every request with it is refused from now on."""
    token_id = call.param("token_id")

    async def produce() -> tuple[dict[str, Any], str]:
        async with call.svc.pool.acquire() as conn:
            row = await conn.fetchrow(call.svc.queries["api_token_revoke"], call.rid, token_id)
        if row is None:
            raise NotFound(f"no token {token_id!r} of this restaurant", token_id=token_id)
        await call.svc.redis.sadd(keys.revoked(call.rid), token_id)
        return {"id": token_id, "role": row["role"], "revoked_at": row["revoked_at"]}, ""

    return await idempotency.once(call, produce)


def _qr_token(call: Call, table_no: str, jti: str, label: str) -> str:
    claims = Claims("qr", (call.rid,), table=table_no, exp=0, jti=jti, name=label)
    return tokens.sign(claims, call.svc.settings.secret_key)


async def _table(call: Call, table_no: str) -> None:
    if table_no not in (await call.svc.store.menu(call.rid)).tables:
        raise NotFound(f"no table {table_no!r}", table=table_no)


async def _qr(call: Call, table_no: str, replace: bool = False) -> dict[str, Any]:
    q = call.svc.queries
    async with call.svc.pool.acquire() as conn, conn.transaction():
        withdrawn = []
        if replace:
            withdrawn = [r["id"] for r in await conn.fetch(q["api_table_qr_revoke"], call.rid,
                                                           table_no)]
        row = await conn.fetchrow(q["api_table_qr"], call.rid, table_no)
        if row is None:
            _, claims = tokens.issue(call.svc.settings.secret_keys, "qr", [call.rid], ttl=0,
                                     table=table_no, name=f"桌 {table_no}")
            await conn.execute(q["api_token_insert"], call.rid, claims.jti, "qr", None,
                               table_no, claims.name, 0)
            jti, label = claims.jti, claims.name
        else:
            jti, label = row["id"], row["label"]
        # every code of the table withdrawn so far, not only now: a re-print retried after
        # Redis failed to hear of the first one still withdraws the old printed code
        ever = [r["id"] for r in await conn.fetch(q["api_table_qr_withdrawn"], call.rid,
                                                  table_no)] if replace else []
    if ever:
        await call.svc.redis.sadd(keys.revoked(call.rid), *ever)
    token = _qr_token(call, table_no, jti, label)
    return {"table": table_no, "id": jti, "token": token, "url": qr_url(call, token),
            "withdrawn": withdrawn}


async def table_qr(call: Call) -> dict[str, Any]:
    """The QR token of one table (never expires), and the URL its code opens."""
    table_no = call.param("table")
    await _table(call, table_no)
    return await _qr(call, table_no)


async def qr_sheet(call: Call) -> dict[str, Any]:
    """The QR token of every table, for the printable sheet."""
    menu = await call.svc.store.menu(call.rid)
    return {"restaurant_id": call.rid, "name_zh": menu.name_zh, "name_en": menu.name_en,
            "tables": [await _qr(call, no) for no in menu.tables]}


async def replace_qr(call: Call) -> Reply:
    """Print a new code for a table: the old one is withdrawn at once."""
    table_no = call.param("table")
    await _table(call, table_no)

    async def produce() -> tuple[dict[str, Any], str]:
        return await _qr(call, table_no, replace=True), ""

    return await idempotency.once(call, produce, status=201)


async def qr_sheet_svg(call: Call) -> Response:
    """One printable A4 page (SVG) of table QR codes (``?page=``, from 1)."""
    try:
        from kds_web import qr
    except ImportError as exc:  # the pages are not installed with this API
        raise NotFound("the printable sheet is not available here") from exc
    raw = call.query("page", "1")
    sheet = await qr_sheet(call)
    codes = [qr.TableCode(t["table"], t["url"]) for t in sheet["tables"]]
    pages = max(1, -(-len(codes) // qr.PER_PAGE))
    if not body.is_count(raw) or not 1 <= int(raw) <= pages:
        raise InvalidInput(f"page must be from 1 to {pages}", field="page")
    n = int(raw)
    chunk = codes[(n - 1) * qr.PER_PAGE:n * qr.PER_PAGE]
    svg = qr.sheet_svg(chunk, sheet["name_zh"] or call.rid, n, pages)
    return Response(svg, media_type="image/svg+xml",
                    headers={"X-Pages": str(pages), "Cache-Control": "no-store"})
