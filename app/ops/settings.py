"""Runtime-tunable settings: safe knobs whose environment value can be overridden at runtime.

A knob is a field of :class:`app.config.Settings` that the API reads on every use through
``state.config.settings`` (never copied at start), so replacing ``state.config`` with one
whose settings carry the overrides changes its behaviour at the next request, no restart.
Overrides live in ``runtime_settings`` (app.store.settings); writers announce each change on
``tokenpulse_settings`` and every API process reloads them (app.ops.settings_watch).

Values are validated by the field's own type and constraints (pydantic), must be finite,
within the knob's ``maximum``, and keep the settings consistent (the warm thresholds: fresh
may not exceed stale). Anything else is refused with :class:`UnknownSetting` or
:class:`InvalidSetting` (400, GraphQL ``extensions.code``; the CLI exits 2 with one line).
docs/settings.md lists the knobs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from app.config import ENV_PREFIX, Settings
from app.errors import InvalidInput
from app.ops.state import AppState
from app.store import settings as store_settings
from app.store.pool import Connection

log = logging.getLogger(__name__)
DAY = 86_400.0


class UnknownSetting(InvalidInput):
    """Not a runtime setting."""

    code = "unknown_setting"


class InvalidSetting(InvalidInput):
    """Invalid value for a runtime setting."""

    code = "invalid_setting"


@dataclass(frozen=True, slots=True)
class Knob:
    key: str  # the Settings field (TOKENPULSE_<KEY> in the environment)
    description: str
    maximum: float | None = None


KNOBS: tuple[Knob, ...] = (
    Knob("cache_ttl_transfers_seconds", "TTL of transfer pages, counts and GraphQL answers", DAY),
    Knob("cache_ttl_totals_seconds", "TTL of totals, /api/totals, /api/info, chain counts", DAY),
    Knob("cache_ttl_address_seconds", "TTL of /api/address and GraphQL address", DAY),
    Knob("cache_ttl_search_seconds", "TTL of /api/search and GraphQL search", DAY),
    Knob("cache_ttl_chains_seconds", "TTL of /api/chains and the chains' state", DAY),
    Knob("cache_ttl_holders_seconds", "TTL of holders and /api/stats", DAY),
    Knob("cache_ttl_analytics_seconds", "TTL of analytics answers", DAY),
    Knob("cache_ttl_finality_seconds", "TTL of finality, /api/finality and sla", DAY),
    Knob("cache_max_entries", "most entries one cache section holds", 1_000_000),
    Knob("warm_fresh_seconds", "warm status: Fresh up to this age (at most warm_stale)", 7 * DAY),
    Knob("warm_stale_seconds", "warm status: Stale beyond this age", 7 * DAY),
)
BY_KEY: Mapping[str, Knob] = {knob.key: knob for knob in KNOBS}


@dataclass(frozen=True, slots=True)
class SettingView:
    """A knob as the API and the CLI show it."""

    key: str
    value: str  # in effect in this process
    default: str  # the environment's (or the built-in default)
    overridden: bool
    description: str
    updated_at: datetime | None = None
    updated_by: str | None = None


def normalize_key(text: str) -> str:
    """``cache_ttl_totals_seconds`` from itself or ``TOKENPULSE_CACHE_TTL_TOTALS_SECONDS``."""
    key = text.strip().lower()
    return key.removeprefix(ENV_PREFIX.lower())


def knob(text: str) -> Knob:
    found = BY_KEY.get(normalize_key(text))
    if found is None:
        shown = text if len(text) <= 64 else text[:64] + "..."
        known = ", ".join(BY_KEY)
        raise UnknownSetting(f"{shown!r} is not a runtime setting (known: {known})", field="key")
    return found


def parse(key: str, text: str) -> Any:
    """The value of ``text`` for knob ``key``, or InvalidSetting saying why."""
    item = knob(key)
    info = Settings.model_fields[item.key]
    # The field's type with its constraints (ge, le...), as Settings itself validates it.
    form: Any = Annotated[(info.annotation, *info.metadata)]
    adapter: TypeAdapter[Any] = TypeAdapter(form)
    try:
        value = adapter.validate_python(text.strip())
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"])
        raise InvalidSetting(
            f"{item.key}: {text[:64]!r} refused: {reason}", field="value"
        ) from None
    if not math.isfinite(value) or (item.maximum is not None and value > item.maximum):
        raise InvalidSetting(f"{item.key}: must be at most {item.maximum:g}", field="value")
    return value


def render(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def effective(base: Settings, overrides: Mapping[str, str]) -> Settings:
    """``base`` with every override applied; InvalidSetting when they do not fit together."""
    update = {knob(key).key: parse(key, value) for key, value in overrides.items()}
    merged = base.model_copy(update=update)
    if merged.warm_fresh_seconds > merged.warm_stale_seconds:
        raise InvalidSetting(
            f"warm_fresh_seconds ({render(merged.warm_fresh_seconds)}) may not exceed"
            f" warm_stale_seconds ({render(merged.warm_stale_seconds)})",
            field="value",
        )
    return merged


def tolerant(base: Settings, rows: Sequence[store_settings.StoredSetting]) -> Settings:
    """The settings of the stored overrides, skipping (and logging) the ones refused: a row
    written by another version must not stop an API process from applying the others."""
    return effective(base, consistent(base, {row.key: row.value for row in rows}))


def consistent(base: Settings, overrides: Mapping[str, str]) -> dict[str, str]:
    """The overrides, in order, that are valid together; the others logged and left out."""
    kept: dict[str, str] = {}
    for key, value in overrides.items():
        try:
            effective(base, {**kept, key: value})
        except InvalidInput as exc:
            log.warning("stored runtime setting ignored", extra={"key": key, "error": str(exc)})
            continue
        kept[key] = value
    return kept


def base_of(state: AppState) -> Settings:
    """The environment's settings of this process (captured before any override)."""
    if state.base_settings is None:
        state.base_settings = state.config.settings
    return state.base_settings


def apply(state: AppState, rows: Sequence[store_settings.StoredSetting]) -> Settings:
    """Make the stored overrides the settings every request of this process reads."""
    settings = tolerant(base_of(state), rows)
    state.config = dataclasses.replace(state.config, settings=settings)
    return settings


async def set_value(conn: Connection, base: Settings, key: str, text: str, by: str) -> None:
    """Validate and store an override, announced when the caller's transaction commits."""
    item = knob(key)
    others = await _others(conn, base, item.key)
    effective(base, {**others, item.key: text})
    await store_settings.upsert_setting(conn, item.key, render(parse(item.key, text)), by)
    await store_settings.notify_changed(conn, item.key)


async def reset_value(conn: Connection, base: Settings, key: str) -> bool:
    """Drop a key's override (back to the environment's value); False if it had none.
    Refused when the others no longer fit without it (warm fresh above the env's stale)."""
    item = knob(key)
    effective(base, await _others(conn, base, item.key))
    deleted = await store_settings.delete_setting(conn, item.key)
    await store_settings.notify_changed(conn, item.key)
    return deleted


async def _others(conn: Connection, base: Settings, key: str) -> dict[str, str]:
    """The stored overrides but ``key``'s, read under the writers' lock: two admins changing
    the two warm thresholds at once must not store a pair that does not fit."""
    await store_settings.lock_writers(conn)
    rows = await store_settings.list_settings(conn)
    return {row.key: row.value for row in rows if row.key != key and _parses(row.key, row.value)}


def _parses(key: str, value: str) -> bool:
    """Whether a stored value is valid on its own (one another version wrote may not be)."""
    try:
        parse(key, value)
    except InvalidInput:
        return False
    return True


def views(base: Settings, rows: Sequence[store_settings.StoredSetting]) -> list[SettingView]:
    """Every knob: the value these rows put in effect over ``base``, and where it comes from."""
    settings, stored = tolerant(base, rows), {row.key: row for row in rows}
    return [_view(item, base, settings, stored.get(item.key)) for item in KNOBS]


def _view(
    item: Knob, base: Settings, settings: Settings, row: store_settings.StoredSetting | None
) -> SettingView:
    value, default = getattr(settings, item.key), getattr(base, item.key)
    return SettingView(
        key=item.key,
        value=render(value),
        default=render(default),
        overridden=row is not None,
        description=item.description,
        updated_at=None if row is None else row.updated_at,
        updated_by=None if row is None else row.updated_by,
    )
