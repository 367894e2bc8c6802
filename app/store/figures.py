"""Upstream token figures: an append-only history of supply, holder count and window transfer
counts as the explorers and nodes reported them, failed attempts included.

Last-known-good: :func:`latest_good` gives, per chain and figure, the newest value fetched
successfully together with the newest attempt's outcome. When that attempt failed (an
outage, a plan refusal), the value is still the last good one, marked ``stale`` with its
age, so callers show an old figure honestly instead of a zero.

Written by app.ingest.figures (the ``token_figures`` job, ``tokenpulse validate``); read by
the validation runner and the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain import Figure
from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("figures")
DETAIL_MAX = 500  # characters of the upstream's sentence kept with a failed attempt
KEEP_DAYS = 90  # history kept by prune (the token_figures job prunes after each run)


@dataclass(frozen=True, slots=True)
class FigureAttempt:
    """One fetch to append: a value (ok) or an error code (failed), never both."""

    chain_id: int
    figure: Figure
    source: str  # etherscan, explorer or rpc
    value: int | None = None
    error: str | None = None  # a stable code, e.g. upstream_not_on_plan, not_offered
    detail: str | None = None  # redacted upstream text, for the runbook
    block_lo: int | None = None  # transfers: the inclusive block window counted
    block_hi: int | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.error is None):
            raise ValueError("a figure attempt has either a value or an error code")
        if self.value is not None and self.value < 0:
            raise ValueError("figures are never negative")

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass(frozen=True, slots=True)
class UpstreamFigure:
    """The last good value of one figure of one chain, and how its newest attempt went.

    ``value`` is None only when no attempt ever succeeded (then ``fetched_at`` and
    ``age_seconds`` are None too, and ``last_error`` says why). ``stale`` is true when the
    value is not the newest attempt's (that one failed) or it is older than the caller's
    ``max_age_seconds``.
    """

    chain_id: int
    figure: Figure
    value: int | None
    block_lo: int | None
    block_hi: int | None
    source: str  # who gave the value (or, when none is good, who was asked last)
    fetched_at: datetime | None  # when the good value was fetched
    age_seconds: float | None  # now - fetched_at, on the database clock
    last_attempt_at: datetime
    last_ok: bool
    last_error: str | None  # the newest attempt's error code, when it failed
    last_detail: str | None
    stale: bool

    @property
    def available(self) -> bool:
        return self.value is not None


@wrap_exceptions
async def append(conn: Connection, attempt: FigureAttempt) -> tuple[int, datetime]:
    """Append one attempt; returns its id and fetched_at."""
    params = {
        "chain_id": attempt.chain_id,
        "figure": attempt.figure.value,
        "value": attempt.value,
        "block_lo": attempt.block_lo,
        "block_hi": attempt.block_hi,
        "source": attempt.source,
        "ok": attempt.ok,
        "error": attempt.error,
        "detail": None if attempt.detail is None else attempt.detail[:DETAIL_MAX],
    }
    cur = await conn.execute(Q["insert"], params)
    row = await cur.fetchone()
    if row is None:  # insert ... returning always returns its row
        raise AssertionError("insert returned no row")
    return int(row["id"]), row["fetched_at"]


@wrap_exceptions
async def latest_good(
    conn: Connection, *, chain_id: int | None = None, max_age_seconds: float | None = None
) -> list[UpstreamFigure]:
    """Per (chain, figure) ever attempted, ordered by chain then figure: see UpstreamFigure."""
    cur = await conn.execute(Q["latest"], {"chain_id": chain_id})
    return [_figure(row, max_age_seconds) for row in await cur.fetchall()]


@wrap_exceptions
async def list_recent(
    conn: Connection, chain_id: int, figure: Figure, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest attempts of one figure, newest first (for the runbook and tests)."""
    params = {"chain_id": chain_id, "figure": figure.value, "limit": limit}
    cur = await conn.execute(Q["list_recent"], params)
    return await cur.fetchall()


@wrap_exceptions
async def count_transfers(conn: Connection, chain_id: int, block_lo: int, block_hi: int) -> int:
    """Stored transfers of a chain in [block_lo, block_hi]: our side of a transfers figure."""
    params = {"chain_id": chain_id, "block_lo": block_lo, "block_hi": block_hi}
    cur = await conn.execute(Q["count_transfers"], params)
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


@wrap_exceptions
async def prune(conn: Connection, keep_days: int = KEEP_DAYS) -> int:
    """Delete history older than ``keep_days``, keeping what latest_good needs; returns the
    rows deleted."""
    cur = await conn.execute(Q["prune"], {"keep_days": keep_days})
    return cur.rowcount


def _figure(row: dict[str, Any], max_age_seconds: float | None) -> UpstreamFigure:
    value = None if row["value"] is None else int(row["value"])
    age = row["age_seconds"]
    too_old = max_age_seconds is not None and age is not None and age > max_age_seconds
    return UpstreamFigure(
        chain_id=row["chain_id"],
        figure=Figure(row["figure"]),
        value=value,
        block_lo=row["block_lo"],
        block_hi=row["block_hi"],
        source=row["source"],
        fetched_at=row["fetched_at"],
        age_seconds=age,
        last_attempt_at=row["last_attempt_at"],
        last_ok=row["last_ok"],
        last_error=row["last_error"],
        last_detail=row["last_detail"],
        stale=value is None or not row["last_ok"] or too_old,
    )
