"""The API process's in-process response cache: named sections of keyed entries with a TTL.

Endpoints that serve computed answers register a section (``registry.section("stats",
ttl=120)``) and read through it with :meth:`Section.get_or_load`, which loads a missing or
expired entry once however many requests ask for it at the same time (single flight).

Entries name the chains they were computed from. When the worker commits new transfers the
notification listener (app.ops.listener) calls :meth:`CacheRegistry.invalidate` with the
chain: the chain's entries (and chain-less, all-chains ones) are dropped, then each refresh
hook runs so a hot entry can be recomputed before the next request asks for it.

``stats()`` feeds ``/api/cache-health``; "fresh" means younger than the TTL, as in the legacy
backend (legacy-api.md §7.3).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
RefreshHook = Callable[[int | None], Awaitable[None]]  # chain id; None: every chain


@dataclass(slots=True)
class Entry:
    value: Any
    stored_at: float
    chains: frozenset[int]  # empty: computed from every chain


@dataclass(slots=True)
class Section:
    name: str
    ttl: float
    clock: Callable[[], float] = time.monotonic
    entries: dict[Hashable, Entry] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    invalidations: int = 0
    _loading: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)

    def get(self, key: Hashable) -> Any | None:
        entry = self.entries.get(key)
        if entry is None or self.clock() - entry.stored_at >= self.ttl:
            self.misses += 1
            return None
        self.hits += 1
        return entry.value

    def put(self, key: Hashable, value: Any, chains: frozenset[int] = frozenset()) -> None:
        self.entries[key] = Entry(value, self.clock(), chains)

    async def get_or_load(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[Any]],
        chains: frozenset[int] = frozenset(),
    ) -> Any:
        found = self.get(key)
        if found is not None:
            return found
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        finally:
            self._loading.pop(key, None)
        self.put(key, value, chains)
        future.set_result(value)
        return value

    def invalidate(self, chain_id: int | None = None) -> int:
        """Drop the entries of ``chain_id`` and the all-chains ones (None: everything)."""
        doomed = [
            key
            for key, entry in self.entries.items()
            if chain_id is None or not entry.chains or chain_id in entry.chains
        ]
        for key in doomed:
            del self.entries[key]
        self.invalidations += len(doomed)
        return len(doomed)

    def stats(self) -> dict[str, Any]:
        now = self.clock()
        ages = [now - entry.stored_at for entry in self.entries.values()]
        newest = min(ages, default=None)
        status = "empty" if newest is None else "fresh" if newest < self.ttl else "stale"
        return {
            "status": status,
            "entries": len(self.entries),
            "ttlMs": round(self.ttl * 1000),
            "ageMs": None if newest is None else round(newest * 1000),
            "expiresInMs": None if newest is None else round(max(0.0, self.ttl - newest) * 1000),
            "hits": self.hits,
            "misses": self.misses,
            "invalidations": self.invalidations,
        }


class CacheRegistry:
    """Every section of one app, and the hooks to run after an invalidation."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sections: dict[str, Section] = {}
        self.hooks: list[RefreshHook] = []
        self.invalidations = 0

    def section(self, name: str, ttl: float) -> Section:
        """The section called ``name``, created on first use. ``ttl`` is the caller's current
        setting and replaces the section's: a runtime change (app.ops.settings) takes effect
        at the next read, for the entries already stored too."""
        if name not in self.sections:
            self.sections[name] = Section(name, ttl, self.clock)
        section = self.sections[name]
        section.ttl = ttl
        return section

    def on_invalidate(self, hook: RefreshHook) -> None:
        self.hooks.append(hook)

    async def invalidate(self, chain_id: int | None = None) -> int:
        """Drop what ``chain_id`` made out of date, then run the refresh hooks."""
        dropped = sum(section.invalidate(chain_id) for section in self.sections.values())
        self.invalidations += 1
        for hook in self.hooks:
            try:
                await hook(chain_id)
            except Exception:  # one broken hook must not stop the others or the refresher
                log.exception("cache refresh hook failed", extra={"chain_id": chain_id})
        return dropped

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: section.stats() for name, section in sorted(self.sections.items())}
