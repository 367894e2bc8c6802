"""create_app(config) -> Starlette. The lifespan opens the pool and passes it down.

The app is the composition root of the API process: it wires the store into the GraphQL and
REST layers and never imports upstreams or ingestion (an import-linter contract).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette

from app import __version__
from app.config import Config
from app.store import pool as store_pool

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """What every request handler may use; stored on ``app.state.tokenpulse``."""

    config: Config
    pool: store_pool.Pool
    version: str = __version__
    started_at: float = field(default_factory=time.time)


def create_app(config: Config, *, dsn: str | None = None) -> Starlette:
    pool = store_pool.create(config.settings, dsn=dsn, name="api")
    state = AppState(config=config, pool=pool)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # wait=False: the API starts (and answers health as "down") even if the database is
        # not there yet; the pool keeps trying in the background.
        await pool.open(wait=False)
        try:
            log.info("api started", extra={"version": __version__})
            yield
        finally:
            await pool.close()

    app = Starlette(lifespan=lifespan)
    app.state.tokenpulse = state
    return app
