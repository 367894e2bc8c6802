"""ASGI factory for the benchmark's API server: ``uvicorn --factory bench.api_app:create``.

Configuration comes from the environment the harness sets (TOKENPULSE_DATABASE_URL, keys).
"""

from __future__ import annotations

from starlette.applications import Starlette

from app import config
from app.asgi import create_app


def create() -> Starlette:
    # Every request comes from the harness's one address, thousands a second: the per-client
    # rate limit (docs/security.md) would measure itself, not the API.
    return create_app(config.load(rate_limit_per_second=0))
