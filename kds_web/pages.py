"""The web screens, served by the api process: HTML shells, static files, dish pictures.

Pages carry no data and no inline script: each is a small HTML shell that loads one ES module
from ``/web/js/``. The module reads its token from the URL fragment and talks to the API and
the hub itself. Every page answer carries a strict Content-Security-Policy.

    /kds/station          a kitchen station's tablet       (#token=<station token>)
    /kds/expo             the pass                         (#token=<expo token>)
    /merchant             table board, menu, stock, stats  (#token=<merchant token>)
    /t/<qr token>         the diner's phone, from the table's QR code
    /media/dish/<id>.svg  a drawn picture of a dish
    /web/...              static files (scripts, styles)

Include them in the API with ``*kds_web.pages.routes(settings)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from kds_web import media
from kitchen import demo
from kitchen.settings import Settings

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


@dataclass(frozen=True)
class Page:
    name: str  # the module /web/js/<name>.js and the style /web/css/<name>.css
    title: str
    theme: str  # "dark" (kitchen) or "light"


PAGES = {
    "station": Page("station", "后厨出品屏 · Kitchen station", "dark"),
    "expo": Page("expo", "传菜口 · Expo", "dark"),
    "merchant": Page("merchant", "商家后台 · Merchant", "light"),
    "diner": Page("diner", "扫码点餐 · Order", "light"),
}


def origin_of(url: str) -> str:
    """``ws://127.0.0.1:8001/x`` → ``ws://127.0.0.1:8001`` (empty when it is not absolute)."""
    parsed = urlparse(url)
    if not parsed.scheme or not parsed.netloc:
        return ""
    return f"{parsed.scheme}://{parsed.netloc}"


def csp(hub_url: str) -> str:
    """The Content-Security-Policy of every page: scripts and styles from this origin only."""
    connect = " ".join(filter(None, ["'self'", origin_of(hub_url)]))
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        f"connect-src {connect}",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ])


def security_headers(hub_url: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp(hub_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-cache",
    }


def render(page: Page, hub_url: str) -> str:
    shell = (TEMPLATES / "shell.html").read_text(encoding="utf-8")
    return (shell
            .replace("{{title}}", page.title)
            .replace("{{page}}", page.name)
            .replace("{{theme}}", page.theme)
            .replace("{{hub_url}}", quoteattr(hub_url)[1:-1]))


class NoCacheStatic(StaticFiles):
    """Static files that browsers revalidate (ETag) on every load, so a deploy shows at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"cache-control", b"no-cache"))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, send_with_headers)  # type: ignore[arg-type]


def _dish_picture(request: Request) -> Response:
    dish_id = request.path_params["dish_id"]
    known = next((d for d in demo.dishes() if d.id == dish_id), None)
    name = request.query_params.get("name", "")[:40] or (known.name_zh if known else "")
    category = request.query_params.get("cat", "")[:40] or (known.category_id if known else "")
    return Response(media.dish_svg(name or "菜", category or dish_id),
                    media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400",
                             "X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "default-src 'none'"})


def routes(settings: Settings) -> list[BaseRoute]:
    """The pages' routes, to be included in the API's routes table."""
    hub_url = settings.public_hub_url
    headers = security_headers(hub_url)

    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        html = render(PAGES[name], hub_url)

        async def endpoint(request: Request) -> Response:
            return HTMLResponse(html, headers=headers)

        endpoint.__name__ = f"page_{name}"
        return endpoint

    async def dish_picture(request: Request) -> Response:
        return _dish_picture(request)

    return [
        Route("/kds/station", page("station"), methods=["GET"], name="page_station"),
        Route("/kds/expo", page("expo"), methods=["GET"], name="page_expo"),
        Route("/merchant", page("merchant"), methods=["GET"], name="page_merchant"),
        Route("/t/{qr}", page("diner"), methods=["GET"], name="page_diner"),
        Route("/media/dish/{dish_id}.svg", dish_picture, methods=["GET"], name="dish_picture"),
        Mount("/web", app=NoCacheStatic(directory=STATIC), name="web"),
    ]
