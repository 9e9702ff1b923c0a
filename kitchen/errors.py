"""One hierarchy for every error the system raises on purpose.

Each error has a stable machine-readable ``code`` and an HTTP-like ``status`` so that the
edges (API: JSON 4xx; hub: error frames; workers: dead-letter entries) translate them without
knowing the individual classes.

    KitchenError
    ├── ConfigError            a setting is missing or malformed (entry points only)
    ├── CodecError             bytes that are not a known, well-formed event or frame
    ├── AuthError              token missing, tampered, expired, revoked (401)
    │   └── ForbiddenError     valid token, but not for this resource (403)
    ├── DomainError            a command that breaks a business rule (409 unless noted)
    │   ├── InvalidInput       malformed or out-of-limit input (422)
    │   ├── NotFound           unknown dish, order, table, station (404)
    │   ├── IllegalTransition  a dish or table cannot make that move from its state
    │   ├── SoldOut            not enough stock for the dish
    │   ├── RateLimited        too many urges / orders (429)
    │   └── TableClosed        the table is not open (QR token refused)
    └── ConflictError          optimistic concurrency lost too often (503, temporary)
"""

from __future__ import annotations

from typing import Any


class KitchenError(Exception):
    """Base of every deliberate error."""

    code = "error"
    status = 400
    temporary = False

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "reason": self.reason}
        if self.details:
            body["details"] = self.details
        return body


class ConfigError(KitchenError):
    code = "config"
    status = 500


class CodecError(KitchenError):
    code = "bad_encoding"
    status = 400


class AuthError(KitchenError):
    code = "unauthorized"
    status = 401


class ForbiddenError(AuthError):
    code = "forbidden"
    status = 403


class DomainError(KitchenError):
    code = "rejected"
    status = 409


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class IllegalTransition(DomainError):
    code = "illegal_transition"
    status = 409


class SoldOut(DomainError):
    code = "sold_out"
    status = 409


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    temporary = True


class TableClosed(DomainError):
    code = "table_closed"
    status = 403


class ConflictError(KitchenError):
    code = "busy"
    status = 503
    temporary = True
