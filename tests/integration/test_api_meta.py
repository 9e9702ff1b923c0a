"""Health, the OpenAPI document and its page, and JSON answers for unknown paths."""

from __future__ import annotations

import dataclasses

import httpx
import redis.asyncio as aioredis

from api.app import create_app
from kitchen.embedded import free_port
from kitchen.settings import Settings
from tests.integration.api_fixtures import *  # noqa: F403
from tests.integration.api_fixtures import Api


async def test_healthz_reports_both_stores(api: Api) -> None:
    """GET /healthz answers 200 with redis and postgres up, without a token."""
    res = await api.get("/healthz")
    assert res.status_code == 200
    assert res.json() == {"ok": True, "redis": True, "postgres": True}


async def test_healthz_is_503_when_redis_is_down(settings: Settings,
                                                 redis: aioredis.Redis) -> None:
    """With Redis unreachable, /healthz answers 503 and says which store failed."""
    down = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            res = await client.get("/healthz")
            assert res.status_code == 503
            assert res.json() == {"ok": False, "redis": False, "postgres": True}
            menu = await client.get("/api/r/demo/menu", headers={
                "Authorization": "Bearer " + Api(client, settings, redis).merchant})
            assert menu.status_code == 503
            assert menu.json()["error"]["code"] == "unavailable"


async def test_openapi_document_and_docs_page(api: Api) -> None:
    """/openapi.json is served without a token; /docs renders it with no script or CDN."""
    doc = (await api.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/r/{rid}/tables/{table}/orders" in doc["paths"]
    page = await api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "https://" not in page.text
    assert "place_order" in page.text


async def test_unknown_path_and_wrong_method_answer_json(api: Api) -> None:
    """An unknown path is a JSON 404 and a wrong method a JSON 405."""
    res = await api.get("/api/r/demo/nothing-here", api.merchant)
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    res = await api.call("DELETE", "/api/r/demo/menu", api.merchant)
    assert res.status_code == 405 and res.json()["error"]["code"] == "method_not_allowed"
