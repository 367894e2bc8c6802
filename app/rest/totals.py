"""``GET /api/totals`` and the legacy ``GET /api/info``, from the store (app.ops.totals_service).

``/api/totals?chainId=`` is the REST face of the GraphQL ``totals`` field: transfer count,
volume, holders and supply per chain and summed, each with ``value`` (a decimal string: raw
units can exceed a double), ``accuracy``, ``source``, ``sourceTimestamp``, ``ageSeconds``,
``stale`` and the ``upstream`` figures beside it with their variance, plus each chain's
``coverage``.

``/api/info`` keeps the legacy shape (legacy-api.md §1.5): token name, symbol and decimals
from the configuration, ``totalSupply`` the summed supply of every enabled chain (raw units,
a string), ``formattedTotalSupply`` in token units. The legacy endpoint called Etherscan and a
"bundle" service on the request path and overrode the figures with constants; here nothing
upstream is called, ``_source`` is ``database``, and the accuracy and staleness of the supply
travel with it (``_accuracy``, ``_stale``). ``circulatingSupply`` has no source in the store
and is ``null``, as the legacy endpoint allowed. ``force`` and ``cb`` are accepted and ignored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.ops import state as app_state
from app.ops import totals_service
from app.ops.state import AppState
from app.rest import http_cache, transfer_params
from app.rest.transfer_rows import iso
from app.totals import ChainTotals, Figure, FigureName

SECTION, INFO_SECTION = "rest_totals", "rest_info"


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)
    chain_id = transfer_params.chain_id(state.config, request.query_params.get("chainId"))

    async def build() -> dict[str, Any]:
        return await document(state, chain_id)

    ttl = state.config.settings.cache_ttl_totals_seconds
    return await http_cache.respond(request, state, SECTION, ttl, chain_id, build)


async def info_endpoint(request: Request) -> Response:
    state = app_state.of(request)

    async def build() -> dict[str, Any]:
        return await info_document(state)

    ttl = state.config.settings.cache_ttl_totals_seconds
    return await http_cache.respond(request, state, INFO_SECTION, ttl, "all", build)


async def document(state: AppState, chain_id: int | None) -> dict[str, Any]:
    answer = await totals_service.totals(state, chain_id)
    return {
        "chainId": chain_id,
        "totals": {name.value: figure(answer.figures[name]) for name in FigureName},
        "chains": [
            {"chainId": chain.id, "chainName": chain.name} | chain_document(item)
            for chain, item in answer.chains
        ],
    }


def chain_document(item: ChainTotals) -> dict[str, Any]:
    cover = item.coverage
    return {
        "coverage": {
            "firstBlock": cover.first_block,
            "lastBlock": cover.last_block,
            "gaps": cover.gaps,
            "complete": cover.complete,
        },
        **{name.value: figure(item.figures[name]) for name in FigureName},
    }


def figure(value: Figure) -> dict[str, Any]:
    return {
        "value": _text(value.value),
        "accuracy": value.accuracy.value,
        "source": value.source,
        "sourceTimestamp": iso(value.source_timestamp),
        "ageSeconds": _seconds(value.age_seconds),
        "stale": value.stale,
        "upstream": [
            {
                "source": item.source,
                "value": _text(item.value),
                "fetchedAt": iso(item.fetched_at),
                "ageSeconds": _seconds(item.age_seconds),
                "stale": item.stale,
                "variance": item.variance,
            }
            for item in value.upstream
        ],
    }


async def info_document(state: AppState) -> dict[str, Any]:
    token = state.config.token
    supply = (await totals_service.totals(state)).figures[FigureName.SUPPLY]
    return {
        "tokenName": token.name,
        "tokenSymbol": token.symbol,
        "tokenDecimal": token.decimals,
        "totalSupply": _text(supply.value),
        "circulatingSupply": None,
        "formattedTotalSupply": _units(supply.value, token.decimals),
        "formattedCirculatingSupply": None,
        "_source": "database",
        "_updatedAt": iso(supply.source_timestamp),
        "_accuracy": supply.accuracy.value,
        "_stale": supply.stale,
    }


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _seconds(value: float | None) -> float | None:
    # Whole seconds: sub-second ages would change the body (and ETag) on every request.
    return None if value is None else float(round(value))


def _units(raw: int | None, decimals: int) -> str | None:
    if raw is None:
        return None
    text = format(Decimal(raw).scaleb(-decimals), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
