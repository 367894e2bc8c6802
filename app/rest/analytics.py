"""``GET /api/analytics?timeRange=&chainId=`` in the legacy shape (legacy-api.md §5).

The document is app.analytics.legacy's, field by field (docs/analytics.md says what each
figure means and where it deliberately differs from the legacy). Parameters:

=============  ==============================================  =================================
parameter      accepted                                        otherwise
=============  ==============================================  =================================
``timeRange``  ``7d``, ``30d``, ``90d``, ``all``; ``custom``    anything else is ``30d``, as the
               with ``from`` and ``to``                        legacy API did
``chainId``    ``all``, ``0``, empty: every chain; a           400 ``invalid_chain`` (the legacy
               configured chain id                             answered an empty document)
``from``,      ``YYYY-MM-DD`` (UTC days, inclusive), only      400 ``invalid_range``
``to``         with ``timeRange=custom``
=============  ==============================================  =================================

Answers are served from the response cache with a strong ETag and ``Cache-Control`` (see
app.rest.http_cache), per query and UTC day, and dropped when the worker announces a batch of
their chain. ``timestamp`` and ``performance`` are those of the computation, so a cached answer
keeps its bytes. Errors are ``{"error": {"code", "message", "field"}}``; a database outage is a
503 (``database_unavailable``), never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.analytics import legacy, ranges
from app.analytics.ranges import RangeName
from app.config import Config
from app.ops import analytics_service as service
from app.ops import state as app_state
from app.ops.analytics_service import AnalyticsQuery, InvalidRange
from app.rest import http_cache, transfer_params

# "rest_" + the answers' section: the worker's analytics refresh drops both (app.ops.listener).
SECTION = f"rest_{service.SECTION}"
NAMES = service.Names(range="timeRange", chain_id="chainId", first="from", last="to")


def parse(config: Config, params: Mapping[str, str], today: date) -> AnalyticsQuery:
    """The validated query, or an InvalidInput subclass naming the parameter."""
    raw = (params.get("timeRange") or "").strip()
    name = RangeName.CUSTOM if raw == RangeName.CUSTOM else ranges.parse_legacy(raw)
    chain_id = transfer_params.chain_id(config, params.get("chainId"))
    first, last = _day(params, NAMES.first), _day(params, NAMES.last)
    return service.query(config, name, chain_id, first, last, names=NAMES, today=today)


def _day(params: Mapping[str, str], field: str) -> date | None:
    raw = (params.get(field) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad_day(raw, field)
    except ValueError:
        return _bad_day(raw, field)


def _bad_day(raw: str, field: str) -> date:
    raise InvalidRange(f"{field}: {raw[:40]!r} is not a day (YYYY-MM-DD)", field=field)


async def endpoint(request: Request) -> Response:
    state = app_state.of(request)
    today = datetime.now(UTC).date()
    query = parse(state.config, request.query_params, today)

    async def build() -> dict[str, Any]:
        return document(await service.analytics(state, query))

    ttl = service.ttl(state)
    chains = service.chains_of(query)
    return await http_cache.respond(request, state, SECTION, ttl, (query, today), build, chains)


def document(answer: service.Answer) -> dict[str, Any]:
    chain_id = answer.query.chain_id
    return legacy.document(
        answer.result,
        time_range=answer.query.range.value,
        chain_id="all" if chain_id is None else str(chain_id),
        now=answer.computed_at,
        compute_time_ms=answer.compute_time_ms,
    )
