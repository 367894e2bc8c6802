"""``GET /api/cache-health``: the response cache's sections and the notification listener.

No database round trip: it reports what this API process holds in memory. Section fields
follow the legacy ``withMeta`` shape (legacy-api.md §7.3: status fresh/stale/empty, ageMs,
ttlMs, expiresInMs) plus entry and hit counters; ``queuedJobs`` is the legacy name of the
notification queue depth.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.ops import finality as ops_finality
from app.ops import state


async def endpoint(request: Request) -> JSONResponse:
    return JSONResponse(document(state.of(request)))


def document(app_state: state.AppState) -> dict[str, Any]:
    listener = app_state.listener
    notifications = None if listener is None else listener.stats()
    return {
        "serverTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "caches": _caches(app_state),
        "invalidations": app_state.cache.invalidations,
        "notifications": notifications,
        "queuedJobs": None if notifications is None else notifications["queueDepth"],
    }


def _caches(app_state: state.AppState) -> dict[str, Any]:
    caches: dict[str, Any] = app_state.cache.stats()
    finality = ops_finality.legacy_cache_fields(app_state)  # the legacy section's extra fields
    if finality is not None and "finality" in caches:
        caches["finality"] = {**caches["finality"], **finality}
    return caches
