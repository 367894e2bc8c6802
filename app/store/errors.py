"""Translation of driver errors into the project's exception tree, in one place."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import psycopg
import psycopg_pool

from app.errors import DatabaseUnavailable, StoreError

P = ParamSpec("P")
T = TypeVar("T")

# SQLSTATE classes that mean "the database is not there for us right now".
_UNAVAILABLE_CLASSES = ("08", "53", "57")


def translate(exc: BaseException) -> StoreError:
    """Map a psycopg/psycopg-pool exception to a StoreError subclass."""
    if isinstance(exc, psycopg_pool.PoolTimeout | psycopg.OperationalError):
        sqlstate = getattr(getattr(exc, "diag", None), "sqlstate", None) or ""
        if not sqlstate or sqlstate[:2] in _UNAVAILABLE_CLASSES:
            return DatabaseUnavailable()
    if isinstance(exc, psycopg.Error):
        diag = exc.diag
        text = diag.message_primary or type(exc).__name__
        return StoreError(f"database error {diag.sqlstate or '?'}: {text}")
    return StoreError(str(exc))


def wrap_exceptions(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate a store coroutine so callers only ever see app.errors exceptions."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await func(*args, **kwargs)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise translate(exc) from exc

    return wrapper
