"""AppState: what every request handler may use, stored on ``app.state.tokenpulse``.

It lives here rather than in app.asgi so that the API layers (graphql, rest, ops) can import
it without importing the composition root that imports them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from app import __version__
from app.config import Config, Settings
from app.ops.cache import CacheRegistry
from app.ops.listener import TransferListener
from app.ops.metrics import Metrics
from app.ops.transfer_feed import TransferFeed
from app.store import pool as store_pool


@dataclass
class AppState:
    config: Config
    pool: store_pool.Pool
    metrics: Metrics
    cache: CacheRegistry = field(default_factory=CacheRegistry)
    listener: TransferListener | None = None  # None: not listening (tools, pure tests)
    feed: TransferFeed | None = None  # new transfers for GraphQL subscriptions
    # The environment's settings, kept when runtime overrides replace config (app.ops.settings).
    base_settings: Settings | None = None
    version: str = __version__
    started_at: float = field(default_factory=time.time)

    @property
    def uptime_seconds(self) -> float:
        return max(0.0, time.time() - self.started_at)


def of(connection: HTTPConnection) -> AppState:
    """The AppState of the app serving this request."""
    state = connection.app.state.tokenpulse
    if not isinstance(state, AppState):  # a wiring bug, not a client error
        raise TypeError("app.state.tokenpulse is not an AppState")
    return state
