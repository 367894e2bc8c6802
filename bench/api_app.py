"""ASGI factory for the benchmark's API server: ``uvicorn --factory bench.api_app:create``.

Configuration comes from the environment the harness sets (TOKENPULSE_DATABASE_URL, keys).
"""

from __future__ import annotations

from starlette.applications import Starlette

from app import config
from app.asgi import create_app, freeze_startup_objects


def create() -> Starlette:
    # Every request comes from the harness's one address, thousands a second: the per-client
    # rate limit (docs/security.md) would measure itself, not the API.
    app = create_app(config.load(rate_limit_per_second=0))
    freeze_startup_objects()  # as app.cli's api_server does
    return app
