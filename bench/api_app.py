"""ASGI factory for the benchmark's API server: ``uvicorn --factory bench.api_app:create``.

Configuration comes from the environment the harness sets (TOKENPULSE_DATABASE_URL, keys).
"""

from __future__ import annotations

from starlette.applications import Starlette

from app import config
from app.asgi import create_app


def create() -> Starlette:
    return create_app(config.load())
