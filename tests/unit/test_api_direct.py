"""The API's endpoints routed directly pick the route Starlette's router would, and answer
what they raise with the application's handlers, as Starlette's middlewares do."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from api.app import create_app
from api.direct import DirectStarlette, Index, shape
from api.routes import ENDPOINTS
from kitchen.errors import NotFound
from kitchen.settings import Settings

SETTINGS = Settings(redis_url="redis://127.0.0.1:1/0", database_url="postgresql://x@127.0.0.1/x")


def _starlette_pick(app: DirectStarlette, method: str, path: str
                    ) -> tuple[Any, dict[str, str]] | None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in app.router.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return child["endpoint"], child["path_params"]
    return None


def _samples() -> list[tuple[str, str]]:
    """Every endpoint's path with made-up ids, plus near misses around each."""
    out = []
    for n, ep in enumerate(ENDPOINTS):
        path = re.sub(r"{(\w+)}", rf"\g<1>-{n}", ep.path)
        out += [(ep.method, path), (ep.method, path + "/"), (ep.method, path + "/x"),
                (ep.method, path.replace(f"-{n}", "", 1)), (ep.method, "/" + path),
                ("HEAD", path), ("PATCH", path), (ep.method, path.rsplit("/", 1)[0])]
        if "{" in ep.path:  # an empty parameter matches no route
            out.append((ep.method, re.sub(r"{\w+}", "", ep.path, count=1)))
    return out


def test_every_request_finds_the_route_starlette_would() -> None:
    app = create_app(SETTINGS)
    by_endpoint = {id(route.endpoint): route.endpoint for route in app.router.routes
                   if isinstance(route, Route)}
    direct_hits = 0
    for method, path in _samples():
        mine = app.direct.find(method, path)
        theirs = _starlette_pick(app, method, path)
        if mine is None:  # Starlette serves it: a page, a HEAD, a 404 or 405
            assert theirs is None or id(theirs[0]) in by_endpoint, (method, path)
            if theirs is not None:
                assert theirs[0].endpoint.path not in {ep.path for ep in ENDPOINTS
                                                        if ep.method == method}, (method, path)
            continue
        direct_hits += 1
        assert theirs is not None, (method, path)
        assert mine[0].endpoint is theirs[0].endpoint, (method, path)
        assert mine[1] == theirs[1], (method, path)
    assert direct_hits >= len(ENDPOINTS)


def test_shape_reads_parameters_and_refuses_what_it_cannot_match() -> None:
    assert shape("/api/r/{rid}/orders") == (("api", "r", None, "orders"), ("rid",))
    assert Index([("GET", "/a/{x}", 1), ("GET", "/a/b", 2)]).find("GET", "/a/b") == (1, {"x": "b"})
    assert Index([("GET", "/a/b", 2), ("GET", "/a/{x}", 1)]).find("GET", "/a/b") == (2, {})
    with pytest.raises(ValueError, match="whole segment"):
        shape("/a/x{y}")
    with pytest.raises(ValueError, match="plain"):
        shape("/a/{n:int}")


class _Raises:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def respond(self, request: Request) -> Response:
        raise self.exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive, send))
        await response(scope, receive, send)


class _Tag:
    """A middleware that marks every answer, to show it is not skipped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-tag", b"1")]
            await send(message)
        await self.app(scope, receive, tagged)


def _app(middleware: list[Middleware] | None = None) -> DirectStarlette:
    targets = {"/missing": _Raises(NotFound("no such dish")), "/broken": _Raises(KeyError("x")),
               "/fine": _Fine()}
    app = DirectStarlette(routes=[Route(p, t, methods=["GET"]) for p, t in targets.items()],
                          exception_handlers=errors.HANDLERS, middleware=middleware)
    app.direct = Index(("GET", p, t) for p, t in targets.items())
    return app


class _Fine:
    async def respond(self, request: Request) -> Response:
        return JSONResponse({"path": request.url.path, "app": request.app is not None})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (await self.respond(Request(scope, receive, send)))(scope, receive, send)


@pytest.mark.parametrize("middleware", [None, [Middleware(_Tag)]], ids=["direct", "through"])
async def test_refusals_and_failures_get_the_handlers_answers(
        middleware: list[Middleware] | None) -> None:
    app = _app(middleware)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        missing = await client.get("/missing")
        broken = await client.get("/broken")
        fine = await client.get("/fine")
        nowhere = await client.get("/nowhere")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert (broken.status_code, broken.json()["error"]["code"]) == (500, "internal")
    assert fine.json() == {"path": "/fine", "app": True}
    assert nowhere.status_code == 404
    # (a 500 is answered outside every middleware, by Starlette's outermost one)
    tagged = {r.headers.get("x-tag") for r in (missing, fine, nowhere)}
    assert tagged == ({"1"} if middleware else {None})
