"""Reading a request body within its size limit, and checking its fields (pure checks).

Each checker names the field it refuses, so a client can point at it:
``{"error": {"code": "invalid_input", "reason": "...", "details": {"field": "guests"}}}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from api.errors import BadRequest, MalformedJson, PayloadTooLarge
from api.limits import MAX_ID, MAX_LIST
from kitchen.errors import InvalidInput

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MISSING = object()


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object (``{}`` when empty); 413 past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not is_count(declared):
            raise BadRequest("Content-Length is not a number")
        if int(declared) > limit:
            raise PayloadTooLarge(f"the body is over {limit} bytes", limit=limit)
    raw = bytearray()
    receive = request.receive  # the ASGI messages themselves: no async generator per request
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        raw += message.get("body", b"")
        if len(raw) > limit:
            raise PayloadTooLarge(f"the body is over {limit} bytes", limit=limit)
        if not message.get("more_body", False):
            break
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:  # the json module reads a little more (integers past
        data = _json_module(raw)    # 64 bits) and says what is wrong in its own words
    if not isinstance(data, dict):
        raise MalformedJson("the body must be a JSON object")
    return data


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _json_module(raw: bytearray) -> Any:
    try:
        data = json.loads(bytes(raw), parse_constant=_not_json)
        _text_only(data)
        return data
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedJson("the body is nested too deeply") from exc


def _text_only(value: Any) -> None:
    """Raise ValueError for a string holding half of a surrogate pair (``"\\ud800"``): the
    json module reads it, but it is no text and could not be stored or sent on."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            raise ValueError(f"a string holds a lone surrogate at {exc.start}") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _text_only(key)
            _text_only(item)
    elif isinstance(value, list):
        for item in value:
            _text_only(item)


def is_count(text: str) -> bool:
    """Decimal digits 0-9 only (``str.isdigit`` also takes "²" and "٣", which ``int`` refuses
    or reads as another number)."""
    return text.isascii() and text.isdigit()


def _get(body: dict[str, Any], name: str) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING:
        raise InvalidInput(f"{name} is required", field=name)
    return value


def _absent(body: dict[str, Any], name: str, default: Any) -> bool:
    """True when the field is missing and has a default (which is then taken as it is)."""
    return name not in body and default is not _MISSING


def text(body: dict[str, Any], name: str, *, max_len: int, default: Any = _MISSING,
         min_len: int = 0) -> str:
    if _absent(body, name, default):
        return str(default)
    value = _get(body, name)
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise InvalidInput(f"{name} must be text of {min_len} to {max_len} characters",
                           field=name)
    return value


def ident(body: dict[str, Any], name: str, default: Any = _MISSING) -> str:
    if _absent(body, name, default):
        return str(default)
    value = _get(body, name)
    if not isinstance(value, str) or not ID.match(value):
        raise InvalidInput(f"{name} must be 1 to {MAX_ID} letters, digits, '_' or '-'",
                           field=name)
    return value


def optional_ident(body: dict[str, Any], name: str) -> str:
    """An id, or '' when absent or null."""
    if body.get(name) is None:
        return ""
    return ident(body, name)


def integer(body: dict[str, Any], name: str, *, lo: int, hi: int,
            default: Any = _MISSING) -> int:
    if _absent(body, name, default):
        return int(default)
    value = _get(body, name)
    if type(value) is not int or not lo <= value <= hi:
        raise InvalidInput(f"{name} must be a whole number from {lo} to {hi}", field=name)
    return value


def optional_int(body: dict[str, Any], name: str, *, lo: int, hi: int) -> int | None:
    """A whole number, or None when the field is null (required to be present)."""
    value = _get(body, name)
    if value is None:
        return None
    return integer(body, name, lo=lo, hi=hi)


def boolean(body: dict[str, Any], name: str, default: Any = _MISSING) -> bool:
    if _absent(body, name, default):
        return bool(default)
    value = _get(body, name)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", field=name)
    return value


def texts(body: dict[str, Any], name: str, *, max_len: int, max_items: int = MAX_LIST,
          default: Any = _MISSING) -> tuple[str, ...]:
    if _absent(body, name, default):
        return tuple(default)
    value = _get(body, name)
    if (not isinstance(value, list | tuple) or len(value) > max_items
            or not all(isinstance(v, str) and 0 < len(v) <= max_len for v in value)):
        raise InvalidInput(f"{name} must be a list of at most {max_items} texts of 1 to "
                           f"{max_len} characters", field=name)
    return tuple(value)


def idents(body: dict[str, Any], name: str, *, max_items: int = MAX_LIST,
           default: Any = _MISSING) -> tuple[str, ...]:
    value = texts(body, name, max_len=MAX_ID, max_items=max_items, default=default)
    if not all(ID.match(v) for v in value):
        raise InvalidInput(f"{name} must list ids (letters, digits, '_' or '-')", field=name)
    return value


def obj(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = _get(body, name)
    if not isinstance(value, dict):
        raise InvalidInput(f"{name} must be an object", field=name)
    return value
