"""The API's own refusals, and the one place where every error becomes a JSON answer.

Every refusal is ``{"error": {"code": ..., "reason": ..., "details"?: {...}}}`` with the status
of the error (see :mod:`kitchen.errors`). Errors the API adds to that hierarchy:

    KitchenError
    ├── BadRequest              400 malformed request (body not JSON, bad header)
    │   ├── MalformedJson       400 the body is not valid JSON
    │   └── IdempotencyKeyError 400 Idempotency-Key missing
    │       └── IdempotencyKeyInvalid 400 … or malformed
    ├── PayloadTooLarge         413 the body is over the limit
    ├── AuthError
    │   └── SessionEnded        401 the diner's table session is over (cleared, moved, merged)
    └── DomainError
        ├── KeyReused           422 an Idempotency-Key sent again with a different request
        └── InProgress          409 the first request with this key is still running (retry)
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kitchen import codec
from kitchen.errors import AuthError, DomainError, KitchenError

log = logging.getLogger("api")


class BadRequest(KitchenError):
    code = "bad_request"
    status = 400


class MalformedJson(BadRequest):
    code = "malformed_json"


class IdempotencyKeyError(BadRequest):
    code = "idempotency_key_required"


class IdempotencyKeyInvalid(IdempotencyKeyError):
    code = "idempotency_key_invalid"


class PayloadTooLarge(KitchenError):
    code = "payload_too_large"
    status = 413


class SessionEnded(AuthError):
    code = "session_ended"
    status = 401


class KeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422


class InProgress(DomainError):
    code = "in_progress"
    status = 409
    temporary = True


class AnswerLost(DomainError):
    """The request with this key was carried out, but its answer could not be kept: it is
    not carried out again."""

    code = "answer_lost"
    status = 409


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


class JSONAnswer(Response):
    """Compact UTF-8 JSON (Chinese kept as text)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return codec.dumps(content)


def error_body(code: str, reason: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "reason": reason}
    if details:
        body["details"] = details
    return {"error": body}


def refusal(exc: KitchenError) -> JSONAnswer:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_ms = exc.details.get("retry_after_ms")
    if exc.temporary:
        headers["Retry-After"] = str(max(1, int(retry_ms or 1000) // 1000))
    return JSONAnswer({"error": exc.to_dict()}, status_code=exc.status, headers=headers)


async def on_kitchen_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KitchenError)
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.reason)
    return refusal(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    reason = exc.detail if exc.status_code != 404 else f"no such path: {request.url.path}"
    return JSONAnswer(error_body(code, str(reason)), status_code=exc.status_code,
                      headers=exc.headers)


async def on_redis_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s: redis: %r", request.method, request.url.path, exc)
    return JSONAnswer(error_body("unavailable", "the live store is unreachable; retry"),
                      status_code=503, headers={"Retry-After": "1"})


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONAnswer(error_body("internal", "internal error"), status_code=500)


HANDLERS = {
    KitchenError: on_kitchen_error,
    HTTPException: on_http_error,
    RedisError: on_redis_error,
    Exception: on_unexpected,
}
