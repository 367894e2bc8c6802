"""Several reads in one round trip: psycopg's pipeline mode behind a small typed interface.

A read is a value (:class:`Read`: the statement, its parameters, and the function that turns
its rows into a result), so a store module can offer each read once and callers choose how to
run it: :func:`fetch` alone, or with others in a :func:`batch`, where every statement added is
sent at once and the results are parsed when the block ends (a :class:`Pending` holds each).
An API answer of eight statements pays one or two network waits instead of eight; each wait
is a point where a busy machine can deschedule the request, so it is the tail that shrinks
most (app.store.analytics_reads).

Statements in a batch run in order on one connection: in a transaction they see its snapshot,
and one that fails raises when the batch ends, after which the transaction is aborted as
usual.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, LiteralString, TypeVar

import psycopg

from app.store.pool import Connection

T = TypeVar("T")
Rows = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """A statement returning rows, its parameters, and what the rows mean. Without a
    statement (:meth:`nothing`), the rows are known to be none and nothing is sent."""

    query: LiteralString | None
    params: Mapping[str, Any] | None
    parse: Callable[[Rows], T]

    @classmethod
    def nothing(cls, parse: Callable[[Rows], T]) -> Read[T]:
        """A read whose answer is known without asking (its rows would be none)."""
        return cls(None, None, parse)


async def fetch(conn: Connection, read: Read[T]) -> T:
    """Run one read now."""
    if read.query is None:
        return read.parse([])
    cur = await conn.execute(read.query, read.params)
    return read.parse(await cur.fetchall())


class Pending(Generic[T]):
    """A read's result, available once its batch has ended."""

    __slots__ = ("_done", "_value")

    def __init__(self) -> None:
        self._done = False
        self._value: T | None = None

    @property
    def value(self) -> T:
        if not self._done:
            raise RuntimeError("the batch holding this read has not ended yet")
        return self._value  # type: ignore[return-value]  # T itself may include None

    def _set(self, value: T) -> None:
        self._value, self._done = value, True


@dataclass
class Batch:
    """The statements of one :func:`batch` block, sent as they are added."""

    conn: Connection
    _reads: list[tuple[psycopg.AsyncCursor[Any] | None, Read[Any], Pending[Any]]] = field(
        default_factory=list
    )

    async def command(self, query: LiteralString) -> None:
        """A statement without rows (``SET ...``)."""
        await self.conn.execute(query)

    async def add(self, read: Read[T]) -> Pending[T]:
        pending: Pending[T] = Pending()
        cur = None if read.query is None else await self.conn.execute(read.query, read.params)
        self._reads.append((cur, read, pending))
        return pending

    async def _resolve(self) -> None:
        # The first fetch sends the pipeline's sync and waits for every result.
        for cur, read, pending in self._reads:
            pending._set(read.parse([] if cur is None else await cur.fetchall()))


@contextlib.asynccontextmanager
async def batch(conn: Connection) -> AsyncIterator[Batch]:
    """Reads added in the block are sent without waiting; their results are parsed at its end
    (a failed statement raises there)."""
    async with conn.pipeline():
        found = Batch(conn)
        yield found
        await found._resolve()
