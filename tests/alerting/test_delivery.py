"""The delivery queue with in-memory channels: reminders of long-held critical alerts, resolves
never before their opening, channels that are not configured any more."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from app.alerting import delivery
from app.alerting.messages import Message
from app.config import Config
from app.store import alerts
from app.store import pool as store_pool
from tests.conftest import make_config


@dataclass
class Recorder:
    name: str
    sent: list[str] = field(default_factory=list)
    failures: int = 0

    async def send(self, message: Message) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("refused")
        self.sent.append(message.subject)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[tuple[Config, store_pool.Pool]]:
    config = make_config(
        database_url,
        TOKENPULSE_ALERT_RETRY_BASE_SECONDS="0.3",
        TOKENPULSE_ALERT_RETRY_CAP_SECONDS="0.3",
    )
    pool = store_pool.create(config.settings)
    await pool.open(wait=True, timeout=10)
    try:
        yield config, pool
    finally:
        await pool.close()


async def raise_alert(pool: store_pool.Pool, key: str, severity: alerts.Severity) -> int:
    async with pool.connection() as conn, conn.transaction():
        alert_id, _ = await alerts.raise_alert(
            conn, kind="worker_down", dedupe_key=key, message="m", severity=severity
        )
    return alert_id


async def resolve(pool: store_pool.Pool, key: str) -> None:
    async with pool.connection() as conn, conn.transaction():
        await alerts.resolve(conn, key)


async def test_long_held_critical_alerts_are_sent_again(
    db: tuple[Config, store_pool.Pool],
) -> None:
    config, pool = db
    settings = config.settings.model_copy(update={"alert_renotify_seconds": 0.5})
    config = dataclasses.replace(config, settings=settings)
    slack = Recorder("slack")
    await raise_alert(pool, "worker_down", alerts.Severity.CRITICAL)
    await raise_alert(pool, "quiet", alerts.Severity.WARNING)
    await delivery.deliver_once(pool, config, {"slack": slack})
    await delivery.deliver_once(pool, config, {"slack": slack})
    assert sorted(slack.sent) == [
        "[tokenpulse] CRITICAL worker_down: m", "[tokenpulse] WARNING worker_down: m",
    ]  # fmt: skip
    await asyncio.sleep(0.6)
    await delivery.deliver_once(pool, config, {"slack": slack})
    await delivery.deliver_once(pool, config, {"slack": slack})
    assert slack.sent[2:] == ["[tokenpulse] STILL CRITICAL worker_down: m"]  # warnings: once
    await resolve(pool, "worker_down")
    await asyncio.sleep(0.6)
    await delivery.deliver_once(pool, config, {"slack": slack})
    assert slack.sent[3:] == ["[tokenpulse] RESOLVED worker_down: m"]


async def test_a_resolve_waits_for_its_opening(db: tuple[Config, store_pool.Pool]) -> None:
    config, pool = db
    slack, email = Recorder("slack", failures=1), Recorder("email")
    both = {"slack": slack, "email": email}
    await raise_alert(pool, "worker_down", alerts.Severity.CRITICAL)
    report = await delivery.deliver_once(pool, config, both)
    assert report == delivery.Report(sent=1, failed=1)
    await resolve(pool, "worker_down")
    await delivery.deliver_once(pool, config, both)  # slack's opening is backing off
    assert slack.sent == []
    assert email.sent[1:] == ["[tokenpulse] RESOLVED worker_down: m"]
    await asyncio.sleep(0.35)
    await delivery.deliver_once(pool, config, both)
    await delivery.deliver_once(pool, config, both)
    assert slack.sent == [
        "[tokenpulse] CRITICAL worker_down: m", "[tokenpulse] RESOLVED worker_down: m",
    ]  # fmt: skip


async def test_no_channel_no_queue_and_a_new_channel_announces_open_alerts(
    db: tuple[Config, store_pool.Pool],
) -> None:
    config, pool = db
    await raise_alert(pool, "worker_down", alerts.Severity.CRITICAL)
    assert await delivery.deliver_once(pool, config, {}) == delivery.Report()
    email = Recorder("email")
    assert await delivery.deliver_once(pool, config, {"email": email}) == delivery.Report(sent=1)
    # Slack configured later: it hears about the alert still open, email hears nothing again.
    slack = Recorder("slack")
    report = await delivery.deliver_once(pool, config, {"email": email, "slack": slack})
    assert report == delivery.Report(sent=1)
    assert slack.sent == email.sent == ["[tokenpulse] CRITICAL worker_down: m"]
