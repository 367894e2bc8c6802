"""LISTEN/NOTIFY on ``tokenpulse_transfers``: the worker says "new rows", the API listens.

The ingester calls :func:`notify_batch` inside the transaction that writes a batch and its
coverage. PostgreSQL delivers a notification only when that transaction commits (and drops it
on rollback), so a listener never hears of rows it cannot read yet, and never of rows that
were not written.

The listening side needs a dedicated autocommit connection (``pool.connect(...,
autocommit=True)``, not a pooled one): :func:`listen` subscribes it, :func:`events` yields
what arrives and, every ``keepalive`` seconds without traffic, sends a ``select 1`` so a dead
session is noticed. Driver errors come out as StoreError/DatabaseUnavailable, like everywhere
in the store; the caller reconnects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql

from app.store.errors import translate, wrap_exceptions
from app.store.pool import Connection

log = logging.getLogger(__name__)
CHANNEL = "tokenpulse_transfers"


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """One committed batch: blocks [from_block, to_block] of a chain, ``inserted`` new rows."""

    chain_id: int
    from_block: int
    to_block: int
    inserted: int

    def payload(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> BatchEvent | None:
        """The event in a payload, or None if it is not one of ours (logged, never raised)."""
        try:
            data = json.loads(text)
            fields = [data[name] for name in ("chain_id", "from_block", "to_block", "inserted")]
        except (ValueError, TypeError, KeyError):
            fields = []
        if len(fields) != 4 or not all(type(value) is int for value in fields):
            log.warning("ignored a malformed notification", extra={"payload": text[:200]})
            return None
        return cls(*fields)


@dataclass(frozen=True, slots=True)
class SectionEvent:
    """The answers of one API cache section that depend on ``chains`` are out of date
    (``analytics``: the refresh changed those chains' aggregates)."""

    section: str
    chains: tuple[int, ...]

    def payload(self) -> str:
        data = {"section": self.section, "chains": list(self.chains)}
        return json.dumps(data, separators=(",", ":"))


Event = BatchEvent | SectionEvent


def parse(text: str) -> Event | None:
    """A batch or a section event, or None for anything else (logged, never raised)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and sorted(data) == ["chains", "section"]:
        section, chains = data["section"], data["chains"]
        if isinstance(section, str) and isinstance(chains, list):
            return SectionEvent(section, tuple(chains)) if _ints(chains) else None
    return BatchEvent.parse(text)


def _ints(values: list[Any]) -> bool:
    return all(type(value) is int for value in values)


@wrap_exceptions
async def notify_section(conn: Connection, section: str, chains: Iterable[int]) -> None:
    """Queue a section event; like a batch's, it goes out when the transaction commits."""
    payload = SectionEvent(section, tuple(sorted(chains))).payload()
    await conn.execute("select pg_notify(%s, %s)", (CHANNEL, payload))


@wrap_exceptions
async def notify_batch(
    conn: Connection, chain_id: int, from_block: int, to_block: int, inserted: int
) -> None:
    """Queue the notification for a batch; it goes out when the caller's transaction commits."""
    payload = BatchEvent(chain_id, from_block, to_block, inserted).payload()
    await conn.execute("select pg_notify(%s, %s)", (CHANNEL, payload))


@wrap_exceptions
async def listen(conn: Connection) -> None:
    """Subscribe an autocommit connection to the channel."""
    await conn.execute(sql.SQL("listen {}").format(sql.Identifier(CHANNEL)))


async def events(conn: Connection, *, keepalive: float = 30.0) -> AsyncIterator[Event]:
    """Events as they arrive on a listening connection, until it fails (StoreError)."""
    try:
        while True:
            async for notice in conn.notifies(timeout=keepalive):
                if notice.channel == CHANNEL and (event := parse(notice.payload)):
                    yield event
            await conn.execute("select 1")  # quiet for a while: is the session still there?
    except psycopg.Error as exc:
        raise translate(exc) from exc
