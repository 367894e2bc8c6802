"""Keeps an API process's runtime settings in step with ``runtime_settings``.

Started and stopped by the app's lifespan. It holds a dedicated autocommit connection (LISTEN
is per session), LISTENs on ``tokenpulse_settings`` and then loads every stored override, so
a change committed while it was connecting is never missed; each notification (a burst is
coalesced) reloads them all and applies them (app.ops.settings.apply). Loading everything
rather than the one key announced keeps the process right whatever was missed: after a lost
connection it reconnects with capped back-off and loads again. A change reaches every API
process as fast as PostgreSQL delivers the notification (milliseconds), well within 2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from app.errors import TokenpulseError
from app.ops import settings as runtime
from app.ops.problems import ProblemLog
from app.ops.state import AppState
from app.store import pool as store_pool
from app.store import settings as store_settings

log = logging.getLogger(__name__)
RETRY_SECONDS = (0.5, 30.0)  # first and longest wait between reconnection attempts
KEEPALIVE_SECONDS = 30.0


class SettingsWatcher:
    def __init__(
        self,
        state: AppState,
        *,
        dsn: str | None = None,
        retry: tuple[float, float] = RETRY_SECONDS,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        self.state = state
        self.dsn = dsn
        self.retry = retry
        self.keepalive = keepalive
        self.base = runtime.base_of(state)  # captured now, before any override
        self.applied = 0  # reloads applied (tests wait on it)
        self.applied_at: float | None = None
        self.connected = False
        self._task: asyncio.Task[None] | None = None
        self._problems = ProblemLog(log, "settings watcher connected again")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch_forever(), name="settings-watcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _watch_forever(self) -> None:
        delay = self.retry[0]
        while True:
            try:
                conn = await store_pool.connect(
                    self.state.config.settings, dsn=self.dsn, autocommit=True
                )
            except TokenpulseError as exc:
                self._problems.report("settings watcher cannot connect", exc)
            else:
                try:
                    await self._watch(conn)
                except TokenpulseError as exc:
                    self._problems.report("settings watcher lost its connection", exc)
                finally:
                    self.connected = False
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(2 * delay, self.retry[1])

    async def _watch(self, conn: store_pool.Connection) -> None:
        await store_settings.listen(conn)
        await self.reload(conn)
        self.connected = True
        self._problems.report(None)
        async for _key in store_settings.changes(conn, keepalive=self.keepalive):
            await self.reload(conn)

    async def reload(self, conn: store_pool.Connection) -> None:
        """Read every override and apply them to this process."""
        rows = await store_settings.list_settings(conn)
        before = self.state.config.settings
        after = runtime.apply(self.state, rows)
        self.applied += 1
        self.applied_at = time.time()
        if after != before:
            log.info(
                "runtime settings applied",
                extra={"overrides": {row.key: row.value for row in rows}},
            )
