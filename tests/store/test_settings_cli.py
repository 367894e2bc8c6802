"""``tokenpulse settings list | set | reset`` against a migrated database, and the store's
runtime_settings functions under it (both schema modes)."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner, Result

from app import cli
from app.config import Config
from app.store import pool as pool_module
from app.store import settings as store_settings
from tests.conftest import TEST_ENV


def invoke(database_url: str, *args: str) -> Result:
    env = {**TEST_ENV, "TOKENPULSE_DATABASE_URL": database_url}
    return CliRunner().invoke(cli.cli, ["settings", *args], env=env, prog_name="tokenpulse")


def stored(config: Config) -> dict[str, tuple[str, str]]:
    async def read() -> list[store_settings.StoredSetting]:
        conn = await pool_module.connect(config.settings, autocommit=True)
        async with conn:
            return await store_settings.list_settings(conn)

    return {row.key: (row.value, row.updated_by) for row in asyncio.run(read())}


def test_set_list_and_reset(database_url: str, config: Config) -> None:
    done = invoke(database_url, "set", "TOKENPULSE_CACHE_TTL_TOTALS_SECONDS", "12.5")
    assert done.exit_code == 0, done.output
    assert done.output == "cache_ttl_totals_seconds = 12.5 (environment: 300)\n"
    assert stored(config) == {"cache_ttl_totals_seconds": ("12.5", "cli")}
    listed = invoke(database_url, "list")
    assert listed.exit_code == 0
    line = next(x for x in listed.output.splitlines() if x.startswith("cache_ttl_totals_seconds"))
    assert line.split() == ["cache_ttl_totals_seconds", "12.5", "300", "override", "(cli)"]
    other = next(x for x in listed.output.splitlines() if x.startswith("cache_max_entries"))
    assert other.split() == ["cache_max_entries", "10000", "10000", "environment"]
    reset = invoke(database_url, "reset", "cache_ttl_totals_seconds")
    assert reset.output == "cache_ttl_totals_seconds = 300 (environment)\n"
    assert stored(config) == {}
    again = invoke(database_url, "reset", "cache_ttl_totals_seconds")
    assert again.output.endswith("; it had no override\n")


def test_refusals_exit_2_with_one_line_and_store_nothing(database_url: str, config: Config) -> None:
    for args, expected in [
        (("set", "nope", "1"), "'nope' is not a runtime setting"),
        (("set", "database_url", "x"), "not a runtime setting"),
        (("set", "cache_ttl_totals_seconds", "-1"), "cache_ttl_totals_seconds"),
        (("set", "cache_max_entries", "many"), "cache_max_entries"),
        (("set", "warm_fresh_seconds", "5000"), "may not exceed warm_stale_seconds"),
        (("reset", "nope"), "not a runtime setting"),
    ]:
        result = invoke(database_url, *args)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("tokenpulse: error: ")
        assert expected in result.output
    assert stored(config) == {}


def test_a_reset_that_would_break_the_warm_thresholds_is_refused(
    database_url: str, config: Config
) -> None:
    assert invoke(database_url, "set", "warm_stale_seconds", "2000").exit_code == 0
    assert invoke(database_url, "set", "warm_fresh_seconds", "1000").exit_code == 0
    refused = invoke(database_url, "reset", "warm_stale_seconds")  # 1000 > the env's 900
    assert refused.exit_code == 2
    assert "warm_fresh_seconds (1000) may not exceed warm_stale_seconds (900)" in refused.output
    assert set(stored(config)) == {"warm_stale_seconds", "warm_fresh_seconds"}
    assert invoke(database_url, "reset", "warm_fresh_seconds").exit_code == 0
    assert invoke(database_url, "reset", "warm_stale_seconds").exit_code == 0
    assert stored(config) == {}
