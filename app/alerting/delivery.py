"""Delivery of alert messages from the durable queue (app.store.alert_delivery): the leader's
``alerts_deliver`` job, every TOKENPULSE_ALERT_DELIVER_SECONDS.

Each run queues what is owed (openings of open alerts whoever raised them, resolves,
reminders), then sends what is due: channels side by side, each channel's messages in order.
An attempt is counted and pushed back (exponential back-off from
TOKENPULSE_ALERT_RETRY_BASE_SECONDS up to ..._CAP_SECONDS) before sending, so a crash mid-send
costs a retry later, never a burst; after TOKENPULSE_ALERT_MAX_ATTEMPTS the message is given
up and logged. Each send is bounded by TOKENPULSE_ALERT_TIMEOUT_SECONDS, and this job runs
apart from the others, so a dead mail server delays only alert mail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.alerting import messages
from app.alerting.channels import Channel
from app.config import Config, Settings
from app.store import alert_delivery
from app.store import pool as store_pool
from app.store.alert_delivery import Due

log = logging.getLogger(__name__)
BATCH = 50  # messages per run; the rest go next run


@dataclass(frozen=True, slots=True)
class Report:
    sent: int = 0
    failed: int = 0


def backoff(attempt: int, settings: Settings) -> float:
    """Seconds before retrying after the ``attempt``-th try (1-based)."""
    base, cap = settings.alert_retry_base_seconds, settings.alert_retry_cap_seconds
    return float(min(cap, base * 2 ** min(attempt - 1, 30)))


def notice_of(due: Due) -> messages.Notice:
    return messages.Notice(
        event=due.event,
        kind=due.kind,
        severity=due.severity,
        message=due.message,
        dedupe_key=due.dedupe_key,
        started_at=due.created_at,
        resolved_at=due.resolved_at if due.event == "resolved" else None,
        occurrences=due.occurrences,
        details=due.details,
    )


async def deliver_once(
    pool: store_pool.Pool, config: Config, channels: Mapping[str, Channel]
) -> Report:
    if not channels:
        return Report()
    s = config.settings
    async with pool.connection() as conn, conn.transaction():
        await alert_delivery.enqueue(conn, list(channels), s.alert_renotify_seconds)
        due = await alert_delivery.list_due(conn, list(channels), BATCH)
    lanes = [[d for d in due if d.channel == name] for name in channels]
    done = await asyncio.gather(*(_lane(pool, s, channels, lane) for lane in lanes if lane))
    sent = sum(ok for results in done for ok in results)
    return Report(sent=sent, failed=len(due) - sent)


async def _lane(
    pool: store_pool.Pool, s: Settings, channels: Mapping[str, Channel], lane: Sequence[Due]
) -> list[bool]:
    return [await _deliver(pool, s, channels[due.channel], due) for due in lane]


async def _deliver(pool: store_pool.Pool, s: Settings, channel: Channel, due: Due) -> bool:
    async with pool.connection() as conn, conn.transaction():
        attempts = await alert_delivery.start_attempt(conn, due, backoff(due.attempts + 1, s))
    try:
        message = messages.render(notice_of(due))
        await asyncio.wait_for(channel.send(message), s.alert_timeout_seconds + 5)
    except Exception as exc:  # any failure is one failed attempt (channels redact their text)
        error = str(exc) or type(exc).__name__  # e.g. TimeoutError carries no text
        async with pool.connection() as conn, conn.transaction():
            await alert_delivery.mark_failed(conn, due, error, s.alert_max_attempts)
        level = logging.ERROR if attempts >= s.alert_max_attempts else logging.WARNING
        log.log(level, "alert delivery failed", extra=_fields(due, attempts) | {"error": error})
        return False
    async with pool.connection() as conn, conn.transaction():
        await alert_delivery.mark_delivered(conn, due)
    log.info("alert delivered", extra=_fields(due, attempts))
    return True


def _fields(due: Due, attempts: int) -> dict[str, object]:
    return {"channel": due.channel, "alert_id": due.alert_id, "event": due.event,
            "dedupe_key": due.dedupe_key, "attempts": attempts}  # fmt: skip
