"""A connection problem logged once when it starts and once when it is over.

Long-lived background connections (the notification listener, the settings watcher) retry
every few seconds while the database is away: logging every attempt would bury the logs.
"""

from __future__ import annotations

import logging


class ProblemLog:
    def __init__(self, log: logging.Logger, recovered: str) -> None:
        self.log = log
        self.recovered = recovered  # logged when a problem is over
        self.current: str | None = None

    def report(self, what: str | None, exc: BaseException | None = None) -> None:
        """``what`` went wrong (with ``exc``), or None: all is well again."""
        text = f"{what}: {exc}" if what else None
        if text == self.current:
            return
        if text is not None:
            self.log.warning(text)
        elif self.current is not None:
            self.log.info(self.recovered)
        self.current = text
