"""What resolvers receive as ``info.context``: the app's state and the HTTP exchange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import strawberry
from starlette.requests import Request
from starlette.responses import Response

from app.ops.state import AppState
from app.store import pool as store_pool


@dataclass(slots=True)
class Context:
    state: AppState
    request: Request
    response: Response

    @property
    def pool(self) -> store_pool.Pool:
        return self.state.pool


Info: TypeAlias = strawberry.Info[Context, None]
