"""Signed, scoped, expiring tokens (pure: hmac + json, no I/O).

A token is ``base64url(json claims) "." base64url(HMAC-SHA256)``. Claims:

    kid   which key signed it (first 8 hex of the key's SHA-256): keys rotate by listing the
          new key first in KITCHEN_SECRET_KEYS and keeping the old ones after it for a while
    jti   the token's id (revocation list)
    role  diner | station | expo | merchant | qr
    rs    restaurants it may act for (one, except merchants)
    st    station id (station role)
    tb    table number (diner and qr roles)
    ss    table session (diner role): the token dies when the table is cleared
    exp   expiry, seconds since the epoch (0 = never: printed QR codes only)

A ``qr`` token is what the printed code on a table carries; it grants nothing but the right
to ask for a diner token while the table is open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from kitchen.errors import AuthError, ForbiddenError
from kitchen.frozen import quick_init

ROLES = ("diner", "station", "expo", "merchant", "qr")
MAX_TOKEN_LEN = 2048
# tokens whose signature was checked, kept per process (LRU; about 600 bytes each): more
# than the tables and screens one process serves at lunch (a round of them must not evict
# itself)
VERIFIED_CACHE = 65_536


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=64)
def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@quick_init
@dataclass(frozen=True)
class Claims:
    role: str
    restaurants: tuple[str, ...]
    station: str = ""
    table: str = ""
    session: str = ""
    exp: int = 0
    jti: str = field(default_factory=lambda: uuid.uuid4().hex)
    name: str = ""

    @property
    def restaurant(self) -> str:
        """The restaurant of a single-restaurant token."""
        return self.restaurants[0]

    def may_act_for(self, restaurant_id: str) -> bool:
        return restaurant_id in self.restaurants

    def require_restaurant(self, restaurant_id: str) -> None:
        if not self.may_act_for(restaurant_id):
            raise ForbiddenError("this token is not for that restaurant")

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise ForbiddenError(f"this needs a {' or '.join(roles)} token, not {self.role}")


def sign(claims: Claims, key: str) -> str:
    body = {
        "kid": key_id(key), "jti": claims.jti, "role": claims.role,
        "rs": list(claims.restaurants), "exp": claims.exp,
    }
    for name, value in (("st", claims.station), ("tb", claims.table),
                        ("ss", claims.session), ("nm", claims.name)):
        if value:
            body[name] = value
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    sig = hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()
    return payload + "." + _b64(sig)


def issue(keys: Sequence[str], role: str, restaurants: Sequence[str], *, ttl: int,
          station: str = "", table: str = "", session: str = "", name: str = "",
          now: float | None = None) -> tuple[str, Claims]:
    """A new token signed with the current key; ``ttl`` 0 means it never expires."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    exp = 0 if ttl == 0 else int((time.time() if now is None else now) + ttl)
    claims = Claims(role, tuple(restaurants), station, table, session, exp, name=name)
    return sign(claims, keys[0]), claims


def verify(token: str, keys: Sequence[str], now: float | None = None) -> Claims:
    """Check signature and expiry; raise AuthError with the reason otherwise."""
    claims = _signed(token, tuple(keys))
    if claims.exp and claims.exp < (time.time() if now is None else now):
        raise AuthError("token expired")
    return claims


@lru_cache(maxsize=VERIFIED_CACHE)
def _signed(token: str, keys: tuple[str, ...]) -> Claims:
    """The claims of a well-formed token signed by one of ``keys``. A token is the same
    bytes on every request of a screen or phone, so its signature is checked once; only
    successes are kept (an exception is not cached), and expiry is checked on every use."""
    if not token or len(token) > MAX_TOKEN_LEN or token.count(".") != 1:
        raise AuthError("malformed token")
    payload, sig_text = token.split(".")
    try:
        body = json.loads(_unb64(payload))
        sig = _unb64(sig_text)
    except ValueError as exc:
        raise AuthError("malformed token") from exc
    if not isinstance(body, dict):
        raise AuthError("malformed token")
    key = next((k for k in keys if key_id(k) == body.get("kid")), None)
    if key is None:
        raise AuthError("token signed with an unknown or retired key")
    expected = hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        raise AuthError("token signature does not match")
    try:
        claims = Claims(
            role=str(body["role"]), restaurants=tuple(str(r) for r in body["rs"]),
            station=str(body.get("st", "")), table=str(body.get("tb", "")),
            session=str(body.get("ss", "")), exp=int(body["exp"]), jti=str(body["jti"]),
            name=str(body.get("nm", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AuthError("malformed token claims") from exc
    if claims.role not in ROLES or not claims.restaurants:
        raise AuthError("malformed token claims")
    return claims
