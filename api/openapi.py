"""The OpenAPI 3.1 document, generated from the routes table, and a plain HTML page of it.

Nothing here is written by hand per endpoint: paths, methods, roles, parameters, idempotency
headers and body schemas all come from the :class:`~api.endpoint.Endpoint` declarations.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from api.endpoint import Endpoint
from api.limits import MAX_IDEMPOTENCY_KEY
from api.schemas import SCHEMAS, ref

TITLE = "Kitchen hub API"
VERSION = "1.0.0"
INTRO = (
    "Commands and queries of the ordering and kitchen hub. Every endpoint but the public ones "
    "needs `Authorization: Bearer <token>`; every request that changes something needs an "
    "`Idempotency-Key` header (a repeat answers the first answer, with "
    "`Idempotent-Replayed: true`). Refusals are `{\"error\": {\"code\", \"reason\"}}` with a "
    "4xx status. Money is in fen, times in milliseconds since the epoch."
)


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(schema)}}


def _parameters(ep: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in ep.path_params
    ]
    params += [{"name": q.name, "in": "query", "required": q.required,
                "description": q.description, "schema": q.schema} for q in ep.query]
    if ep.needs_key:
        params.append({
            "name": "Idempotency-Key", "in": "header", "required": True,
            "description": "chosen by the client per intended change; resend it on retry",
            "schema": {"type": "string", "pattern": f"^[A-Za-z0-9_\\-:.]{{1,"
                                                    f"{MAX_IDEMPOTENCY_KEY}}}$"}})
    return params


def operation(ep: Endpoint) -> dict[str, Any]:
    doc = (ep.handler.__doc__ or "").strip()
    op: dict[str, Any] = {
        "operationId": ep.name,
        "summary": ep.summary,
        "tags": [ep.tag] if ep.tag else [],
        "parameters": _parameters(ep),
        "responses": {
            str(ep.status): {"description": "done", "content": {ep.content_type: {
                "schema": ref(ep.response)}} if ep.content_type == "application/json"
                else {ep.content_type: {"schema": {"type": "string"}}}},
            "4XX": {"description": "refused; nothing changed", "content": _json("Error")},
        },
        "security": [{"bearer": []}] if ep.roles else [],
        "x-roles": list(ep.roles),
        "x-idempotent": ep.needs_key,
    }
    if ep.description or doc:
        op["description"] = ep.description or doc
    if ep.request:
        needed = bool(SCHEMAS[ep.request].get("required"))
        op["requestBody"] = {"required": needed, "content": _json(ep.request)}
    return op


def document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": INTRO},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a signed token (kitchen.tokens)"}},
        },
    }


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2em}.op{margin:.6em 0;padding:.5em .8em;
border-left:4px solid #888;background:#f7f7f7}.m{font-weight:bold;display:inline-block;width:4.5em}
.GET{border-color:#2a7}.POST{border-color:#27c}.PUT{border-color:#c82}.PATCH{border-color:#a5c}
.DELETE{border-color:#c33}code{background:#eee;padding:0 .2em}small{color:#666}
pre{background:#f3f3f3;padding:.6em;overflow:auto;font-size:13px}
"""


def _schema_name(part: dict[str, Any]) -> str:
    """``Bill`` for a request or response part whose content refers to that schema."""
    for media in part.get("content", {}).values():
        return str(media.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]
    return ""


def page(doc: dict[str, Any]) -> str:
    """A self-contained HTML page of the document (no scripts, no network)."""
    e = html.escape
    by_tag: dict[str, list[str]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            req = _schema_name(op.get("requestBody", {}))
            status, answer = next(iter(op["responses"].items()))
            res = _schema_name(answer)
            roles = ", ".join(op["x-roles"]) or "public"
            key = " · Idempotency-Key" if op["x-idempotent"] else ""
            by_tag.setdefault(op["tags"][0] if op["tags"] else "other", []).append(
                f'<div class="op {method.upper()}" id="{e(op["operationId"])}">'
                f'<span class="m">{method.upper()}</span><code>{e(path)}</code> '
                f'— {e(op["summary"])}<br><small>{e(roles)}{key}'
                f'{" · body " + e(req) if req else ""} · {status} {e(res)}</small>'
                f'<br><small>{e(op.get("description", ""))}</small></div>')
    sections = "".join(f"<h2>{e(tag)}</h2>{''.join(ops)}" for tag, ops in by_tag.items())
    schemas = "".join(
        f'<h3 id="s-{e(n)}">{e(n)}</h3><pre>{e(json.dumps(s, ensure_ascii=False, indent=1))}'
        f"</pre>" for n, s in doc["components"]["schemas"].items())
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{e(TITLE)}</title>"
            f"<style>{_STYLE}</style><h1>{e(TITLE)} {e(VERSION)}</h1>"
            f"<p>{e(doc['info']['description'])}</p><p><a href=/openapi.json>openapi.json</a>"
            f"</p>{sections}<h2>Schemas</h2>{schemas}</html>")
