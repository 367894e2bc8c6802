"""Operational endpoints: liveness, readiness and metrics.

- ``/healthz`` answers 200 while the process can answer at all; it touches nothing else, so
  an orchestrator never restarts the API because the *database* is down.
- ``/readyz`` answers 200 only when the database answers and is migrated, else 503, so a load
  balancer sends traffic elsewhere until it is.
- ``/metrics`` renders this process's instruments plus the store-derived series of
  app.ops.store_metrics, from a health report refreshed at most every REFRESH_SECONDS (so a
  burst of scrapes, or several Prometheus servers, cost the database one report).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.errors import DatabaseUnavailable, TokenpulseError
from app.ops import health, state, transfer_service

REFRESH_SECONDS = 5.0


async def healthz(request: Request) -> JSONResponse:
    app_state = state.of(request)
    body = {
        "status": "ok",
        "version": app_state.version,
        "uptimeSeconds": round(app_state.uptime_seconds, 3),
    }
    return JSONResponse(body)


async def readyz(request: Request) -> JSONResponse:
    database = await health.check_database(state.of(request))
    body: dict[str, Any] = {"ready": False, "database": health.database_fields(database)}
    if not database.ok:
        body["error"] = DatabaseUnavailable(database.error).to_dict()
    elif database.mode is None:
        body["error"] = {
            "code": "schema_not_migrated",
            "message": "The database schema is not migrated; run `tokenpulse migrate`.",
            "field": None,
        }
    else:
        body["ready"] = True
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


async def metrics(request: Request) -> Response:
    """The Prometheus text exposition of this app's registry."""
    app_state = state.of(request)
    await refresh_store_metrics(app_state)
    text, content_type = app_state.metrics.render()
    return Response(text, media_type=content_type)


async def refresh_store_metrics(app_state: state.AppState) -> None:
    """Hand the store collector a fresh health report when its last one is old enough."""
    collector = app_state.metrics.store
    async with collector.lock:  # concurrent scrapes share one report
        last = collector.updated_at
        due = last is None or time.monotonic() - last >= REFRESH_SECONDS
        report = await health.collect(app_state) if due else None
        counts = await _transfer_counts(app_state) if report and report.store_ready else None
        collector.update(report, app_state.cache.stats(), counts)


async def _transfer_counts(app_state: state.AppState) -> dict[int, int] | None:
    """Stored transfers per enabled chain, through the API's totals cache (recounted once
    per announced batch, not per scrape); None when the store does not answer in time."""
    ids = [chain.id for chain in app_state.config.enabled_chains]
    wait = health.db_wait_seconds(app_state.config) + 2.0
    try:
        return await asyncio.wait_for(transfer_service.chain_totals(app_state, ids), wait)
    except (TimeoutError, TokenpulseError):
        return None


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/readyz", readyz, methods=["GET"], name="readyz"),
        Route("/metrics", metrics, methods=["GET"], name="metrics"),
    ]
