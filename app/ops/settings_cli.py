"""``tokenpulse settings list | set KEY VALUE | reset KEY``: runtime settings from a shell.

The commands write ``runtime_settings`` directly (TOKENPULSE_DATABASE_URL) and announce the
change in the same transaction, so every running API process applies it within 2 s; no API
process needs to be up, and no admin token is needed (database access is the credential).
A refused key or value is a TokenpulseError: the CLI prints one line and exits 2.
"""

from __future__ import annotations

import asyncio

import click

from app import config as app_config
from app import logging as app_logging
from app.config import Settings
from app.errors import ConfigError
from app.ops import settings as runtime
from app.store import pool as store_pool
from app.store import settings as store_settings


@click.group("settings")
def settings() -> None:
    """Runtime settings: list them, override one, reset one (docs/settings.md)."""


@settings.command("list")
def list_command() -> None:
    """Every runtime setting: value in effect, the environment's default, where it comes from."""
    for line in asyncio.run(_list(_settings())):
        click.echo(line)


# A negative VALUE ("-1") is an argument to be refused with its reason, not an unknown option.
@settings.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
def set_command(key: str, value: str) -> None:
    """Override KEY with VALUE in every API process (validated first)."""
    click.echo(asyncio.run(_set(_settings(), key, value)))


@settings.command("reset")
@click.argument("key")
def reset_command(key: str) -> None:
    """Drop KEY's override: back to the environment's value."""
    click.echo(asyncio.run(_reset(_settings(), key)))


def _settings() -> Settings:
    config = app_config.load()
    app_logging.configure(config.settings, config.secrets)
    if config.settings.database_url is None:
        raise ConfigError("TOKENPULSE_DATABASE_URL", "is not set")
    return config.settings


async def _list(base: Settings) -> list[str]:
    conn = await store_pool.connect(base, autocommit=True)
    async with conn:
        rows = await store_settings.list_settings(conn)
    lines = [f"{'KEY':<30} {'VALUE':>10} {'DEFAULT':>10}  SOURCE"]
    for view in runtime.views(base, rows):
        source = f"override ({view.updated_by})" if view.overridden else "environment"
        lines.append(f"{view.key:<30} {view.value:>10} {view.default:>10}  {source}")
    return lines


async def _set(base: Settings, key: str, value: str) -> str:
    name = runtime.knob(key).key
    conn = await store_pool.connect(base)
    async with conn, conn.transaction():
        await runtime.set_value(conn, base, name, value, "cli")
        rows = await store_settings.list_settings(conn)
    view = next(view for view in runtime.views(base, rows) if view.key == name)
    return f"{name} = {view.value} (environment: {view.default})"


async def _reset(base: Settings, key: str) -> str:
    name = runtime.knob(key).key
    conn = await store_pool.connect(base)
    async with conn, conn.transaction():
        had = await runtime.reset_value(conn, base, name)
    value = runtime.render(getattr(base, name))
    return f"{name} = {value} (environment)" + ("" if had else "; it had no override")
