"""The Starlette application: ``create_app(settings)``.

The lifespan opens what every request shares — a Redis client (bytes in, bytes out), a
PostgreSQL pool, the :class:`~kitchen.store.Store` and the named queries — and closes them
on shutdown. Routes come from one table (:mod:`api.routes`); the OpenAPI document is built
from the same table once, at start.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from api import errors, openapi, routes
from api.context import Services
from api.direct import DirectStarlette, Index
from api.limits import Limits
from kitchen import redisclient
from kitchen.batching import Batcher, Wire, trips_client
from kitchen.db import Queries, create_pool
from kitchen.errors import ConfigError
from kitchen.settings import Settings
from kitchen.store import Store

REDIS_TIMEOUT_S = 5.0  # a Redis that answers nothing for this long is treated as down

log = logging.getLogger("api")


def page_routes(settings: Settings) -> list[BaseRoute]:
    """The web screens of ``kds_web`` (served by this process), when they are installed."""
    if importlib.util.find_spec("kds_web.pages") is None:
        return []
    from kds_web import pages

    found: list[BaseRoute] = pages.routes(settings)
    return found


def create_app(settings: Settings, limits: Limits | None = None) -> DirectStarlette:
    if settings.redis_url is None or settings.database_url is None:
        raise ConfigError("the API needs REDIS_URL and DATABASE_URL "
                          "(`make run` starts both and sets them)")
    redis_url, database_url = settings.redis_url, settings.database_url

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = redisclient.connect(redis_url, decode_responses=False)
        # the hot path's shared trips: bounded per trip rather than per reply (see Batcher)
        trips = trips_client(redis_url, REDIS_TIMEOUT_S)
        wire = Wire.from_url(redis_url, REDIS_TIMEOUT_S)
        pool = await create_pool(database_url)
        try:
            store = Store(redis, maxlen=settings.stream_maxlen,
                          idempotency_ttl=settings.idempotency_ttl,
                          batch=Batcher(trips, timeout=REDIS_TIMEOUT_S, wire=wire))
            app.state.services = Services(settings, limits or Limits(), redis, pool, store,
                                          Queries.load())
            yield
        finally:
            await pool.close()
            if wire is not None:
                await wire.aclose()
            await trips.aclose()
            await redis.aclose()

    app = DirectStarlette(routes=[*routes.routes(), *page_routes(settings)],
                          exception_handlers=errors.HANDLERS,
                          lifespan=lifespan)
    app.direct = Index((ep.method, ep.path, ep.asgi) for ep in routes.ENDPOINTS)
    app.state.openapi = openapi.document(routes.ENDPOINTS)
    return app
