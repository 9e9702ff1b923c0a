"""The OpenAPI document, the routes and docs/api.md describe the same endpoints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.routing import Route

from api.app import create_app
from api.routes import ENDPOINTS
from kitchen.settings import Settings

SETTINGS = Settings(redis_url="redis://127.0.0.1:1/0", database_url="postgresql://x@127.0.0.1/x")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
API_PATHS = re.compile(r"^/(api/|healthz$|openapi\.json$|docs$)")


def _app_operations() -> set[tuple[str, str]]:
    app = create_app(SETTINGS)
    out = set()
    for route in app.routes:
        if isinstance(route, Route) and API_PATHS.match(route.path):
            out |= {(m, route.path) for m in (route.methods or ()) if m != "HEAD"}
    return out


def _spec_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}


def test_every_route_is_in_the_spec_and_every_spec_path_is_routed() -> None:
    """The app's API routes and the OpenAPI paths are the same set of (method, path)."""
    app = create_app(SETTINGS)
    assert _app_operations() == _spec_operations(app.state.openapi)


def test_every_schema_reference_resolves() -> None:
    """Every $ref of the document names a schema in components/schemas."""
    doc = create_app(SETTINGS).state.openapi
    refs = set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', str(doc).replace("'", '"')))
    assert refs and refs <= set(doc["components"]["schemas"])


def test_operation_ids_are_unique_and_documented() -> None:
    """Every operation has a unique id, a summary and a description from its handler."""
    ids = [ep.name for ep in ENDPOINTS]
    assert len(ids) == len(set(ids))
    assert all(ep.summary and ep.handler.__doc__ for ep in ENDPOINTS)


def test_changing_requests_declare_the_idempotency_header() -> None:
    """Every token-bearing request that changes something requires Idempotency-Key."""
    doc = create_app(SETTINGS).state.openapi
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            names = {p["name"] for p in op["parameters"]}
            wanted = method != "get" and bool(op["x-roles"])
            assert ("Idempotency-Key" in names) == wanted, (method, path)


def test_docs_page_lists_every_endpoint() -> None:
    """docs/api.md mentions every endpoint path (R = /api/r/{rid})."""
    text = DOCS.read_text(encoding="utf-8")
    text = re.sub(r"\{(\w+)\}", "{}", text)
    for ep in ENDPOINTS:
        path = re.sub(r"\{(\w+)\}", "{}", ep.path.replace("/api/r/{rid}", "R"))
        if "/lines/{}/" in path and path.rsplit("/", 1)[-1] in (
                "fire", "hold", "start", "ready", "serve", "recall", "void"):
            path = "R/orders/{}/lines/{}/{}"
        elif re.fullmatch(r"R/orders/\{\}/(bump|start|serve|recall|fire|hold|void)", path):
            path = "R/orders/{}/{}"
        assert path in text, path
