"""create_app(config) -> Starlette. The lifespan opens the pool and passes it down.

The app is the composition root of the API process: it wires the store into the GraphQL and
REST layers and never imports upstreams or ingestion (an import-linter contract).

Routes: ``/graphql`` (GraphiQL on GET when enabled; subscriptions over WebSocket),
``/api/transfers``, ``/api/search``, ``/api/address/{address}``, ``/api/chains``,
``/api/health`` (legacy), ``/api/cache-health``, ``/healthz``, ``/readyz``, ``/metrics``.
docs/api.md describes them and the error envelope. The lifespan also runs the LISTEN/NOTIFY
listener that keeps the response cache in step with the worker (app.ops.listener) and feeds
the ``transferAdded`` subscription (app.ops.transfer_feed).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from app import __version__
from app.config import Config
from app.graphql.view import GraphQLView
from app.ops import probes, transfer_service
from app.ops.cache import CacheRegistry
from app.ops.listener import ListenerCollector, TransferListener
from app.ops.metrics import Metrics
from app.ops.settings_watch import SettingsWatcher
from app.ops.state import AppState
from app.ops.transfer_feed import TransferFeed
from app.rest import cors
from app.rest import errors as http_errors
from app.rest import routes as rest_routes
from app.rest.limits import RequestLimits
from app.rest.middleware import RequestMiddleware
from app.rest.ratelimit import RateLimit
from app.store import pool as store_pool
from app.web import status as web_status

log = logging.getLogger(__name__)

__all__ = ["AppState", "create_app", "freeze_startup_objects"]


def freeze_startup_objects() -> None:
    """Move everything alive now (modules, the GraphQL schema, the app) out of the garbage
    collector's reach, for an API process about to serve. A full collection of the process
    otherwise walks those objects too: measured at 55 ms, every few seconds of analytics
    requests, each time a request's whole latency (p99). Called by the processes that serve
    (app.cli api_server, bench.api_app), not by create_app: a test process creating many apps
    would freeze each one's garbage."""
    gc.collect()  # what is garbage already is freed, not frozen
    gc.freeze()


def create_app(config: Config, *, dsn: str | None = None) -> Starlette:
    # Statements prepared at their first run: see store_pool.create.
    pool = store_pool.create(config.settings, dsn=dsn, name="api", prepare_threshold=0)
    metrics = Metrics(version=__version__, pool_stats=pool.get_stats)
    cache = CacheRegistry()
    listener = TransferListener(config.settings, cache, dsn=dsn)
    metrics.registry.register(ListenerCollector(listener))
    feed = TransferFeed(pool)
    listener.on_batch(feed.publish)
    state = AppState(
        config=config, pool=pool, metrics=metrics, cache=cache, listener=listener, feed=feed
    )
    transfer_service.install(state)  # recount chain totals as batches are announced
    watcher = SettingsWatcher(state, dsn=dsn)  # runtime settings (app.ops.settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # wait=False: the API starts (and answers health as "down") even if the database is
        # not there yet; the pool keeps trying in the background.
        await pool.open(wait=False)
        await listener.start()
        await watcher.start()
        try:
            log.info("api started", extra={"version": __version__})
            yield
        finally:
            await watcher.stop()
            await listener.stop()
            await pool.close()

    app = Starlette(
        routes=_routes(state),
        # Request ids and metrics outermost, so CORS refusals are counted and traceable.
        middleware=[
            Middleware(RequestMiddleware, metrics=metrics),
            cors.middleware(config.settings),
            # Inside CORS, so a browser can read a 429/413/414 (docs/security.md).
            Middleware(RateLimit, settings=config.settings, registry=metrics.registry),
            Middleware(
                RequestLimits,
                max_body_bytes=config.settings.max_body_bytes,
                max_url_bytes=config.settings.max_url_bytes,
            ),
        ],
        exception_handlers=http_errors.HANDLERS,
        lifespan=lifespan,
    )
    app.state.tokenpulse = state
    return app


def _routes(state: AppState) -> list[BaseRoute]:
    graphql = GraphQLView(state, graphiql=state.config.settings.graphiql)
    return [
        # An ASGI app as endpoint: every method reaches the view, which answers 405 itself.
        Route("/graphql", graphql, name="graphql"),
        WebSocketRoute("/graphql", graphql, name="graphql_ws"),
        *rest_routes.routes(),
        *probes.routes(),
        *web_status.routes(),
    ]
