"""Circuit breaker states as the worker last published them (0013).

The breakers live in the worker's memory (app.upstreams._resilience); API processes have
none, so the worker upserts every breaker's state here every few seconds
(app.ingest.prices.publish_breakers) and appends each transition. The health page, GraphQL
and alert rules read :func:`list_breakers`; ``age_seconds`` says how fresh a row is (a
worker that stopped publishing leaves old rows, which readers should show as unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store import queries
from app.store.errors import wrap_exceptions
from app.store.pool import Connection

Q = queries.load("breakers")
STATES = frozenset({"closed", "open", "half_open"})


@dataclass(frozen=True, slots=True)
class BreakerUpdate:
    """One breaker as the worker sees it now, with its transitions since the last publish."""

    name: str
    provider: str
    state: str
    failures: int
    opened_at: datetime | None
    changed_at: datetime  # its last transition (or when the worker first used it)
    new_transitions: int = 0

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown breaker state {self.state!r}")


@dataclass(frozen=True, slots=True)
class Transition:
    at: datetime
    name: str
    from_state: str
    to_state: str


@dataclass(frozen=True, slots=True)
class BreakerRow:
    """A breaker as stored: the last published state and the total transitions."""

    name: str
    provider: str
    state: str
    failures: int
    opened_at: datetime | None
    changed_at: datetime
    updated_at: datetime
    transitions: int
    age_seconds: float  # since the worker last published it


@wrap_exceptions
async def upsert_breakers(
    conn: Connection, updates: Sequence[BreakerUpdate], transitions: Sequence[Transition] = ()
) -> None:
    """Publish breaker states and append their transitions (the caller commits)."""
    async with conn.cursor() as cur:
        if updates:
            await cur.executemany(Q["upsert_breaker"], [_update(u) for u in updates])
        if transitions:
            await cur.executemany(Q["insert_transition"], [_transition(t) for t in transitions])


@wrap_exceptions
async def list_breakers(conn: Connection) -> list[BreakerRow]:
    """Every published breaker, by provider then name."""
    cur = await conn.execute(Q["list_breakers"])
    return [BreakerRow(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def list_transitions(
    conn: Connection, since: datetime, limit: int = 1000
) -> list[Transition]:
    """Transitions since ``since``, newest first."""
    cur = await conn.execute(Q["list_transitions"], {"since": since, "limit": limit})
    return [Transition(**row) for row in await cur.fetchall()]


@wrap_exceptions
async def delete_transitions_before(conn: Connection, before: datetime) -> int:
    cur = await conn.execute(Q["delete_transitions_before"], {"before": before})
    return cur.rowcount


def _update(update: BreakerUpdate) -> dict[str, Any]:
    return {
        "name": update.name,
        "provider": update.provider,
        "state": update.state,
        "failures": update.failures,
        "opened_at": update.opened_at,
        "changed_at": update.changed_at,
        "new_transitions": update.new_transitions,
    }


def _transition(transition: Transition) -> dict[str, Any]:
    return {
        "at": transition.at,
        "name": transition.name,
        "from_state": transition.from_state,
        "to_state": transition.to_state,
    }
