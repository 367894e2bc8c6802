"""Warm status: is a chain's stored data keeping up with the chain? Pure, no I/O.

Each chain is judged from its ingestion record (the ``ingest_status`` row the worker writes
after every tip cycle, and whether any coverage exists), never from the age of its newest
transfer: a quiet token whose ingestion is healthy is Fresh even if nobody moved a token for a
day (the legacy backend called that "stale", legacy-api.md §7.2).

Two measures, both against the thresholds of :class:`Thresholds`:

- **since success**: seconds from the last successful sync to now (is the worker keeping up?);
- **lag**: how far the stored data trailed the chain head at that sync, in blocks and in
  seconds (blocks times the chain's block time; is each sync reaching the head?).

``Cold``: never synced, or nothing covered. ``Stale``: either measure beyond ``stale_seconds``.
``Lagging``: either beyond ``fresh_seconds``. ``Fresh``: both within ``fresh_seconds``.

It lives at the top of ``app`` (beside ``domain``) rather than in ``app.ingest`` because the
API layers (graphql, rest, ops) report it and may not import ingestion (import-linter).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class WarmStatus(enum.StrEnum):
    FRESH = "fresh"
    LAGGING = "lagging"
    STALE = "stale"
    COLD = "cold"


@dataclass(frozen=True, slots=True)
class Thresholds:
    fresh_seconds: float = 120.0
    stale_seconds: float = 900.0

    def __post_init__(self) -> None:
        if not 0 < self.fresh_seconds <= self.stale_seconds:
            raise ValueError("need 0 < fresh_seconds <= stale_seconds")


@dataclass(frozen=True, slots=True)
class Record:
    """What the store knows about one chain's ingestion (None: not known yet)."""

    last_success_at: datetime | None = None
    head: int | None = None  # the upstream head seen at the last sync
    synced_block: int | None = None  # highest block stored up to at that sync
    covered: bool = False  # any coverage at all
    block_time_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class Reading:
    status: WarmStatus
    since_success_seconds: float | None
    head_lag_blocks: int | None
    lag_seconds: float | None
    reason: str


def classify(record: Record, now: datetime, thresholds: Thresholds = Thresholds()) -> Reading:
    """The warm status of one chain at ``now``."""
    since = _age(record.last_success_at, now)
    lag_blocks = _lag_blocks(record)
    lag_seconds = None if lag_blocks is None else lag_blocks * record.block_time_seconds
    if since is None or not record.covered:
        why = "never synced" if since is None else "nothing covered yet"
        return Reading(WarmStatus.COLD, since, lag_blocks, lag_seconds, why)
    worst = max(since, lag_seconds or 0.0)
    status = _band(worst, thresholds)
    return Reading(status, since, lag_blocks, lag_seconds, _reason(status, since, lag_seconds))


def _band(seconds: float, thresholds: Thresholds) -> WarmStatus:
    if seconds > thresholds.stale_seconds:
        return WarmStatus.STALE
    if seconds > thresholds.fresh_seconds:
        return WarmStatus.LAGGING
    return WarmStatus.FRESH


def _reason(status: WarmStatus, since: float, lag_seconds: float | None) -> str:
    if status is WarmStatus.FRESH:
        return "in sync"
    if lag_seconds is not None and lag_seconds > since:
        return f"{lag_seconds:.0f}s behind the head at the last sync"
    return f"last successful sync {since:.0f}s ago"


def _lag_blocks(record: Record) -> int | None:
    if record.head is None or record.synced_block is None:
        return None
    return max(0, record.head - record.synced_block)


def _age(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round(max(0.0, (now - then).total_seconds()), 3)
