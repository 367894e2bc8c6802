"""One evaluation: gather the snapshot, run the rules, then raise, refresh and resolve alerts,
all in one transaction (the leader's ``alerts_evaluate`` job, every
TOKENPULSE_ALERT_EVALUATE_SECONDS).

A condition must hold for TOKENPULSE_ALERT_PENDING_SECONDS before its alert is raised (a
chain is cold for the seconds before its first tip cycle; a breaker flaps), measured in this
leader's memory. An alert already open is refreshed at once, so a new leader does not resolve
and re-raise what is still true. Only the kinds this module raises are resolved here
(rules.EVALUATED): validation alerts belong to the validation run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.alerting import facts, rules
from app.config import Config
from app.store import alerts
from app.store import pool as store_pool
from app.store.pool import Connection

log = logging.getLogger(__name__)


@dataclass
class Memory:
    """What evaluations carry from one to the next, in the leader's memory."""

    first_seen: dict[str, float] = field(default_factory=dict)  # dedupe key -> monotonic time
    samples: facts.Samples = field(default_factory=dict)  # rate-limit counts per key


@dataclass(frozen=True, slots=True)
class Outcome:
    raised: tuple[str, ...] = ()  # dedupe keys of alerts opened now
    refreshed: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()  # firing, but not yet for the pending period


async def evaluate_once(
    pool: store_pool.Pool,
    config: Config,
    memory: Memory,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    now = clock()
    async with pool.connection() as conn, conn.transaction():
        snap = await facts.gather(conn, config, memory.samples, now)
        firing = rules.evaluate(snap, facts.limits(config))
        held = {a.dedupe_key for a in await alerts.list_open(conn) if a.kind in rules.EVALUATED}
        pending = config.settings.alert_pending_seconds
        outcome = await _apply(conn, firing, held, memory, now, pending)
    _log(outcome)
    return outcome


async def _apply(
    conn: Connection,
    firing: Sequence[rules.Firing],
    held: set[str],
    memory: Memory,
    now: float,
    pending_seconds: float,
) -> Outcome:
    keys = {f.dedupe_key for f in firing}
    memory.first_seen = {k: t for k, t in memory.first_seen.items() if k in keys}
    raised: list[str] = []
    refreshed: list[str] = []
    waiting: list[str] = []
    for f in firing:
        since = memory.first_seen.setdefault(f.dedupe_key, now)
        if f.dedupe_key not in held and now - since < pending_seconds:
            waiting.append(f.dedupe_key)
            continue
        _, created = await _raise(conn, f)
        (raised if created else refreshed).append(f.dedupe_key)
    resolved = sorted(held - keys)
    for key in resolved:
        await alerts.resolve(conn, key)
    return Outcome(tuple(raised), tuple(refreshed), tuple(resolved), tuple(waiting))


async def _raise(conn: Connection, f: rules.Firing) -> tuple[int, bool]:
    return await alerts.raise_alert(
        conn,
        kind=f.kind.value,
        dedupe_key=f.dedupe_key,
        message=f.message,
        severity=alerts.Severity(f.severity.value),
        chain_id=f.chain_id,
        details=f.details,
    )


def _log(outcome: Outcome) -> None:
    for key in outcome.raised:
        log.warning("alert raised", extra={"dedupe_key": key})
    for key in outcome.resolved:
        log.info("alert resolved", extra={"dedupe_key": key})
