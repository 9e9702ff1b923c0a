"""The API's own endpoints found by their path's shape, before Starlette's middleware and
router: the application's error handlers still answer whatever an endpoint raises.

Starlette's router tries its routes one by one, each a regular expression, and every
request passes two exception middlewares, each wrapping ``send``. For the API's table of
endpoints the same choice is a dict lookup by method and segment count, then a comparison
of the few candidate paths' literal segments in the table's order — the route Starlette
would pick, since the table's routes come first. Anything else (HEAD, the web screens,
slash redirects, 404 and 405) goes through Starlette as before, as does everything when a
middleware has been added to the application.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Generic, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request, Exception], Awaitable[Response]]
# a path as its segments: a literal segment must be equal, None takes any non-empty one
Shape = tuple[str | None, ...]
T = TypeVar("T")


def shape(path: str) -> tuple[Shape, tuple[str, ...]]:
    """``/api/r/{rid}/orders`` → ((``api``, ``r``, None, ``orders``), (``rid``,))."""
    parts: list[str | None] = []
    names: list[str] = []
    for seg in path.strip("/").split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            name, _, convertor = seg[1:-1].partition(":")
            if convertor not in ("", "str"):
                raise ValueError(f"{path}: only plain {{name}} parameters are routed directly")
            parts.append(None)
            names.append(name)
        elif "{" in seg:
            raise ValueError(f"{path}: a parameter must be a whole segment")
        else:
            parts.append(seg)
    return tuple(parts), tuple(names)


class Index(Generic[T]):
    """(method, path) → (target, path parameters) for a table of routes, first match wins."""

    def __init__(self, routes: Iterable[tuple[str, str, T]]) -> None:
        self._by: dict[tuple[str, int], list[tuple[Shape, tuple[str, ...], T]]] = {}
        for method, path, target in routes:
            parts, names = shape(path)
            self._by.setdefault((method, len(parts)), []).append((parts, names, target))

    def find(self, method: str, path: str) -> tuple[T, dict[str, str]] | None:
        segs = path[1:].split("/")
        candidates = self._by.get((method, len(segs)))
        if candidates is None or not path.startswith("/"):
            return None
        for parts, names, target in candidates:
            values = _match(parts, segs)
            if values is not None:
                return target, dict(zip(names, values, strict=True))
        return None


def _match(parts: Shape, segs: Sequence[str]) -> list[str] | None:
    values: list[str] = []
    for want, got in zip(parts, segs, strict=True):
        if want is None:
            if not got:
                return None
            values.append(got)
        elif want != got:
            return None
    return values


class Responder(Protocol):
    """What the index routes to: an answer for a request (raising what it does not answer)."""

    async def respond(self, request: Request) -> Response: ...


class DirectStarlette(Starlette):
    """A Starlette application that serves the routes of its ``direct`` index itself."""

    direct: Index[Responder] = Index(())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.user_middleware and not scope.get("root_path"):
            found = self.direct.find(scope["method"], scope["path"])
            if found is not None:
                responder, params = found
                scope["app"] = self
                scope["path_params"] = params
                scope["endpoint"] = responder
                request = Request(scope, receive, send)
                try:
                    response = await responder.respond(request)
                except Exception as exc:  # nothing was sent yet: the handlers answer
                    handler = self._handler(exc)
                    if handler is None:
                        raise
                    response = await handler(request, exc)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The application's handler for ``exc``, as Starlette's middlewares choose it."""
        for cls in type(exc).__mro__:
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                return handler  # type: ignore[no-any-return]
        return None
