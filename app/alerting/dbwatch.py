"""The ``database_unreachable`` alert, which cannot live in the database it is about.

Every worker runs a :class:`DatabaseWatch` beside its heartbeats, outside the leader's job
scheduler: when the database goes away the leader loses its lock and its jobs stop, so the
evaluator could never report it. The watch probes the database every
TOKENPULSE_ALERT_EVALUATE_SECONDS; once probes have failed for
TOKENPULSE_ALERT_DB_UNREACHABLE_SECONDS it sends the alert straight to the channels, and a
resolve when a probe succeeds again, holding both (and their retries) in memory.

Only one worker should speak: the one that was the leader at the last good probe (standbys
then were standbys, and nobody can become leader while the database is away). If that worker
dies too, nothing is sent from here: the Prometheus rules (docker/prometheus/alerts.yml)
cover a dead worker and a dead database from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from app.alerting import channels, messages, rules
from app.alerting.channels import Channel
from app.config import Config
from app.domain import DatabaseStatus
from app.store import pool as store_pool

log = logging.getLogger(__name__)
Probe = Callable[[], Awaitable[DatabaseStatus]]


class DatabaseWatch:
    def __init__(
        self,
        config: Config,
        channels: Mapping[str, Channel],
        probe: Probe,
        responsible: Callable[[], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = config.settings
        self.channels = channels
        self.probe = probe
        self.responsible = responsible
        self.clock = clock
        self.speaks = False  # was this worker the leader at the last good probe?
        self.down_since: float | None = None
        self.opened: messages.Notice | None = None  # the alert while it is held
        self.announced = False  # whether this worker sent (or owes) its opening
        self.owed: dict[str, list[messages.Notice]] = {}  # per channel, not yet delivered

    @classmethod
    def for_pool(
        cls, config: Config, pool: store_pool.Pool, responsible: Callable[[], bool]
    ) -> DatabaseWatch:
        wait = config.settings.db_connect_timeout

        async def probe() -> DatabaseStatus:
            return await store_pool.check_database(pool, wait)

        return cls(config, channels.configured(config), probe, responsible)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.alert_evaluate_seconds)

    async def check(self) -> None:
        """One probe, then the alert's state, then whatever is owed to the channels."""
        status = await self.probe()
        now = self.clock()
        if status.ok:
            self._up()
        else:
            self._down(now, status.error or "no answer")
        await self._flush()

    def _up(self) -> None:
        if self.opened is not None:
            log.info("database reachable again: alert resolved")
            if self.announced:
                self._owe(_resolved(self.opened))
        self.opened, self.down_since = None, None
        self.speaks = self.responsible()

    def _down(self, now: float, error: str) -> None:
        self.down_since = now if self.down_since is None else self.down_since
        held = now - self.down_since
        if self.opened is not None or held < self.settings.alert_db_unreachable_seconds:
            return
        firing = rules.database_unreachable(held, error)
        self.opened = messages.Notice(
            "opened", firing.kind.value, firing.severity.value, firing.message,
            firing.dedupe_key, datetime.now(UTC),
        )  # fmt: skip
        log.error("database unreachable: alert raised", extra={"speaks": self.speaks})
        self.announced = self.speaks
        if self.speaks:
            self._owe(self.opened)

    def _owe(self, notice: messages.Notice) -> None:
        for name in self.channels:
            queue = self.owed.setdefault(name, [])
            if notice.event == "resolved" and any(n.event == "opened" for n in queue):
                queue.clear()  # never announced: no resolve either
                continue
            queue.append(notice)

    async def _flush(self) -> None:
        for name, queue in self.owed.items():
            while queue:
                try:
                    await self.channels[name].send(messages.render(queue[0]))
                except Exception as exc:  # kept for the next check
                    log.warning("alert delivery failed", extra={"channel": name, "error": str(exc)})
                    break
                log.info("alert delivered", extra={"channel": name, "event": queue[0].event})
                queue.pop(0)


def _resolved(opened: messages.Notice) -> messages.Notice:
    return messages.Notice(
        "resolved", opened.kind, opened.severity, opened.message, opened.dedupe_key,
        opened.started_at, resolved_at=datetime.now(UTC),
    )  # fmt: skip
