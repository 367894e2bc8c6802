"""``runtimeSettings`` (read) and the admin mutations ``setSetting`` / ``resetSetting``.

The mutations need the admin bearer token (app.ops.admin_auth). They store the override and
announce it in one transaction; this process applies it at once, the others within
milliseconds through their settings watcher (app.ops.settings_watch).
"""

from __future__ import annotations

from app.graphql.context import Info
from app.graphql.types.settings import RuntimeSetting, SettingPayload
from app.ops import admin_auth
from app.ops import settings as runtime
from app.ops.state import AppState
from app.store import pool as store_pool
from app.store import settings as store_settings


async def runtime_settings(info: Info) -> list[RuntimeSetting]:
    state = info.context.state
    async with store_pool.read(state.pool) as conn:
        rows = await store_settings.list_settings(conn)
    return [from_view(view) for view in runtime.views(runtime.base_of(state), rows)]


async def set_setting(info: Info, key: str, value: str) -> SettingPayload:
    state = _authorized(info, "setSetting")
    base = runtime.base_of(state)
    async with store_pool.transaction(state.pool) as conn:
        await runtime.set_value(conn, base, key, value, "graphql")
        rows = await store_settings.list_settings(conn)
    return _payload(state, rows, runtime.knob(key).key, changed=True)


async def reset_setting(info: Info, key: str) -> SettingPayload:
    state = _authorized(info, "resetSetting")
    async with store_pool.transaction(state.pool) as conn:
        changed = await runtime.reset_value(conn, runtime.base_of(state), key)
        rows = await store_settings.list_settings(conn)
    return _payload(state, rows, runtime.knob(key).key, changed=changed)


def _authorized(info: Info, operation: str) -> AppState:
    state = info.context.state
    admin_auth.check_connection(info.context.request, state.config.settings, operation=operation)
    return state


def _payload(
    state: AppState, rows: list[store_settings.StoredSetting], key: str, *, changed: bool
) -> SettingPayload:
    runtime.apply(state, rows)  # this process at once; the others through their watchers
    views = {view.key: view for view in runtime.views(runtime.base_of(state), rows)}
    return SettingPayload(setting=from_view(views[key]), changed=changed)


def from_view(view: runtime.SettingView) -> RuntimeSetting:
    return RuntimeSetting(
        key=view.key,
        value=view.value,
        default=view.default,
        overridden=view.overridden,
        description=view.description,
        updated_at=view.updated_at,
        updated_by=view.updated_by,
    )
