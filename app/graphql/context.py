"""What resolvers receive as ``info.context``: the app's state, the HTTP exchange (or the
WebSocket of a subscription) and the request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import strawberry
from starlette.requests import Request
from starlette.responses import Response

from app.ops.state import AppState
from app.store import pool as store_pool

if TYPE_CHECKING:  # app.graphql.loaders imports resolvers, which import this module
    from app.graphql.loaders import Loaders


@dataclass(slots=True)
class Context:
    state: AppState
    request: Request
    response: Response
    loaders: Loaders

    @property
    def pool(self) -> store_pool.Pool:
        return self.state.pool


Info: TypeAlias = strawberry.Info[Context, None]
