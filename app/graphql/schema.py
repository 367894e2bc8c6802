"""The GraphQL schema.

``python -m app.graphql.schema > docs/schema.graphql`` refreshes the committed SDL; a test
fails while the committed file differs from what this module builds.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import strawberry
from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.graphql import limits
from app.graphql.errors import ErrorCodes
from app.graphql.resolvers import address as address_resolvers
from app.graphql.resolvers import analytics as analytics_resolvers
from app.graphql.resolvers import chains as chain_resolvers
from app.graphql.resolvers import finality as finality_resolvers
from app.graphql.resolvers import health as health_resolvers
from app.graphql.resolvers import holders as holder_resolvers
from app.graphql.resolvers import price as price_resolvers
from app.graphql.resolvers import search as search_resolvers
from app.graphql.resolvers import settings as settings_resolvers
from app.graphql.resolvers import sla as sla_resolvers
from app.graphql.resolvers import totals as totals_resolvers
from app.graphql.resolvers import transfers as transfer_resolvers
from app.graphql.resolvers import transfers_subscription
from app.graphql.resolvers import warm as warm_resolvers
from app.graphql.types import transfer_scalars
from app.graphql.types.analytics import Analytics
from app.graphql.types.chain import Chain
from app.graphql.types.finality import ChainFinality
from app.graphql.types.health import Health
from app.graphql.types.holder import HolderConnection
from app.graphql.types.price import CircuitBreaker, TokenPrice
from app.graphql.types.scalars import SCALAR_MAP
from app.graphql.types.settings import RuntimeSetting, SettingPayload
from app.graphql.types.sla import SourceSla
from app.graphql.types.totals import Totals
from app.graphql.types.transfer import Transfer, TransferBatch, TransferConnection
from app.graphql.types.transfer_lookups import AddressSummary, SearchResult
from app.graphql.types.warm import ChainWarmStatus

SDL_PATH = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"


@strawberry.type(description="Read-only queries over the store.")
class Query:
    health: Health = strawberry.field(
        resolver=health_resolvers.health,
        description="Health of the API, its database and workers (as GET /api/health).",
    )
    chains: list[Chain] = strawberry.field(
        resolver=chain_resolvers.chains,
        description="Every chain in the store, by chain id, with its coverage.",
    )
    warm_status: list[ChainWarmStatus] = strawberry.field(
        resolver=warm_resolvers.warm_status,
        description="Every configured chain's warm status (Fresh, Lagging, Stale or Cold).",
    )
    version: str = strawberry.field(
        resolver=health_resolvers.version, description="Version of the running code."
    )
    transfers: TransferConnection = strawberry.field(
        resolver=transfer_resolvers.transfers,
        description=(
            "Stored transfers, newest first by default, as a keyset connection: cursors stay"
            " exact while rows are added. Filters combine (AND)."
        ),
    )
    transfer: Transfer | None = strawberry.field(
        resolver=transfer_resolvers.transfer, description="One transfer by its identity."
    )
    address: AddressSummary = strawberry.field(
        resolver=address_resolvers.address,
        description="Balances per chain (from stored transfers), counts, recent transfers.",
    )
    search: SearchResult = strawberry.field(
        resolver=search_resolvers.search,
        description="An address, a transaction hash or a block number, looked up in the store.",
    )
    holders: HolderConnection = strawberry.field(
        resolver=holder_resolvers.holders_connection,
        description=(
            "Addresses with a positive balance, largest first (then by address, then chain id),"
            " from balances kept exact by ingestion; a keyset connection."
        ),
    )
    totals: Totals = strawberry.field(
        resolver=totals_resolvers.totals,
        description=(
            "Transfer count, volume, holders and supply per chain and summed, each with its"
            " accuracy, coverage, source timestamp, upstream figures and staleness."
        ),
    )
    analytics: Analytics = strawberry.field(
        resolver=analytics_resolvers.analytics,
        description=(
            "Daily series, metrics with changes, forecasts with intervals, anomalies and"
            " breakdowns of a window, from the store's aggregates (docs/analytics.md)."
        ),
    )
    token_price: TokenPrice = strawberry.field(
        resolver=price_resolvers.token_price,
        description=(
            "The token's best price (a consensus of the healthy price sources) and each"
            " source's health, from the worker's stored observations (docs/prices.md)."
        ),
    )
    breakers: list[CircuitBreaker] = strawberry.field(
        resolver=price_resolvers.breakers,
        description="The worker's circuit breakers as it last published them, with transitions.",
    )
    finality: list[ChainFinality] = strawberry.field(
        resolver=finality_resolvers.finality,
        description=(
            "Every enabled chain's (or chainId's) latest vs safe/finalized block, lag in blocks"
            " and seconds, and when finality last advanced, from the worker's probes."
        ),
    )
    sla: list[SourceSla] = strawberry.field(
        resolver=sla_resolvers.sla,
        description=(
            "Latency p50/p95/p99 and success rate per price and finality source over 1h and"
            " 24h (or the window and kind asked for), from the stored call records."
        ),
    )
    runtime_settings: list[RuntimeSetting] = strawberry.field(
        resolver=settings_resolvers.runtime_settings,
        description="Every runtime-tunable setting: its value in effect and where it comes from.",
    )


@strawberry.type(description="Admin operations: each needs Authorization: Bearer <admin token>.")
class Mutation:
    set_setting: SettingPayload = strawberry.mutation(
        resolver=settings_resolvers.set_setting,
        description=(
            "Override a runtime setting in every API process within 2 s, without a restart"
            " (docs/settings.md); the value is validated first."
        ),
    )
    reset_setting: SettingPayload = strawberry.mutation(
        resolver=settings_resolvers.reset_setting,
        description="Drop a runtime setting's override: back to the environment's value.",
    )


@strawberry.type(description="Pushed over graphql-ws (graphql-transport-ws) on /graphql.")
class Subscription:
    transfer_added: AsyncIterator[TransferBatch] = strawberry.subscription(
        resolver=transfers_subscription.transfer_added,
        description="The transfers of each ingestion batch of a chain (or all) as it commits.",
    )


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # ErrorCodes logs what deserves it (unexpected errors, with their traceback) because it
        # knows which those are; Strawberry's default would log every client typo at ERROR.
        return None


DOCUMENT_CACHE_SIZE = 256  # distinct query texts kept parsed and validated (LRU)


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def parsed(query: str) -> DocumentNode:
    """The document of a query text (cached; raises GraphQLError when it does not parse)."""
    return parse(query, max_tokens=limits.MAX_TOKENS)  # a huge text stops early


class ParsedDocuments(SchemaExtension):
    """Strawberry's ParserCache, except that a query that does not parse is left to Strawberry
    (raising from the hook, as ParserCache does, would bypass its parse-error handling)."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None:
            with contextlib.suppress(GraphQLError):
                self.execution_context.graphql_document = parsed(query)
        yield


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Parsing and validating a query cost more than executing a 25-row page; clients send the
    # same few query texts with different variables, so both are cached by text.
    extensions=[
        ErrorCodes,
        limits.QueryLimits,  # depth, aliases, cost, size, introspection
        ParsedDocuments,
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
    ],
    config=StrawberryConfig(scalar_map={**SCALAR_MAP, **transfer_scalars.SCALARS}),
)


def sdl() -> str:
    """The schema in SDL, as committed to docs/schema.graphql."""
    return schema.as_str() + "\n"


def write_sdl(path: Path = SDL_PATH) -> None:
    path.write_text(sdl(), encoding="utf-8")


if __name__ == "__main__":
    sys.stdout.write(sdl())
