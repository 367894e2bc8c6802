"""The CLI's start-up contract: a bad configuration stops every command with exit code 2 and
exactly one stderr line naming the setting, no traceback; ``version``; the worker binding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app import __version__, cli
from app.domain import SchemaMode
from app.errors import ClusterError, ConfigError, DatabaseUnavailable, TokenpulseError
from app.store import migrate
from tests.conftest import TEST_ENV

TOKENPULSE = Path(sys.executable).with_name("tokenpulse")
COMMANDS = ["migrate", "serve", "worker"]
CHAINS = """\
[token]
address = "0x85Cb098bdcD3Ca929d2cD18Fc7A2669fF0362242"
name = "Bazaars"
symbol = "BZR"
decimals = 18

[[chains]]
id = 1
name = "Ethereum"
slug = "eth"
provider = "{provider}"
token = "{address}"
base_url = "https://api.etherscan.io/v2/api"
api_keys_env = "TOKENPULSE_ETHERSCAN_API_KEYS"
first_block = 1
finality = "finalized"
block_time_seconds = 12
"""
GOOD_ADDRESS = "0x85cb098bdcd3ca929d2cd18fc7a2669ff0362242"


def clean_env(**env: str) -> dict[str, str | None]:
    """The outer TOKENPULSE_* variables removed, then ``env`` (CliRunner unsets None values)."""
    unset: dict[str, str | None] = {key: None for key in os.environ if key.startswith("TOKENPULSE")}
    return {**unset, **env}


def invoke(args: list[str], **env: str) -> Result:
    return CliRunner().invoke(cli.cli, args, env=clean_env(**env), prog_name="tokenpulse")


def chains_file(tmp_path: Path, provider: str = "etherscan", address: str = GOOD_ADDRESS) -> str:
    path = tmp_path / "chains.toml"
    path.write_text(CHAINS.format(provider=provider, address=address))
    return str(path)


def assert_one_line(result: Result, expected_start: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"tokenpulse: configuration error: {expected_start}")
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_provider(tmp_path: Path, command: str) -> None:
    result = invoke(
        [command], **TEST_ENV, TOKENPULSE_CHAINS_FILE=chains_file(tmp_path, provider="nosuch")
    )
    assert_one_line(result, "chains[0] (id 1).provider: unknown provider 'nosuch'")


@pytest.mark.parametrize("command", COMMANDS)
def test_enabled_chain_without_key(command: str) -> None:
    result = invoke([command], TOKENPULSE_CRONOS_API_KEYS="k")
    assert_one_line(result, "TOKENPULSE_ETHERSCAN_API_KEYS: is not set, but enabled chain")


@pytest.mark.parametrize("command", COMMANDS)
def test_malformed_address(tmp_path: Path, command: str) -> None:
    path = chains_file(tmp_path, address="0x1234")
    result = invoke([command], **TEST_ENV, TOKENPULSE_CHAINS_FILE=path)
    assert_one_line(result, "chains[0] (id 1).token: malformed address '0x1234'")


@pytest.mark.parametrize("command", [*COMMANDS, "demo"])
def test_bad_port(command: str) -> None:
    result = invoke([command], **TEST_ENV, TOKENPULSE_PORT="eighty")
    assert_one_line(result, "TOKENPULSE_PORT: Input should be a valid integer")


@pytest.mark.parametrize("command", [*COMMANDS, "demo", "simulate", "backfill"])
def test_bad_cors_origin(command: str) -> None:
    args = [command, "--chain", "1", "--days", "1"] if command == "backfill" else [command]
    result = invoke(args, **TEST_ENV, TOKENPULSE_CORS_ORIGINS="https://app.example.org/")
    assert_one_line(result, "TOKENPULSE_CORS_ORIGINS: 'https://app.example.org/' has '/' after")


@pytest.mark.parametrize("command", COMMANDS)
def test_database_url_required(command: str) -> None:
    result = invoke([command], **TEST_ENV)
    assert_one_line(result, "TOKENPULSE_DATABASE_URL: is not set")


def test_version() -> None:
    result = invoke(["version"])
    assert result.exit_code == 0
    assert result.stdout == f"tokenpulse {__version__}\n"


def test_console_script_prints_one_line_and_exits_2() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOKENPULSE")}
    done = subprocess.run(
        [str(TOKENPULSE), "worker"],
        env={**env, **TEST_ENV, "TOKENPULSE_SCHEMA_MODE": "fancy"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tokenpulse: configuration error: TOKENPULSE_SCHEMA_MODE: Input should be 'auto',"
        " 'timescale' or 'portable'"
    ]


def test_importing_the_cli_loads_no_scheduler_code() -> None:
    code = (
        "import sys, app.cli;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('schedulers', 'apscheduler')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"


def test_worker_runtime_is_the_scheduler_worker() -> None:
    from schedulers import main as scheduler_main

    assert cli.worker_runtime() is scheduler_main.run_worker


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ConfigError("TOKENPULSE_PORT", "bad"), "configuration error: TOKENPULSE_PORT: bad"),
        (ClusterError("initdb failed:\nsecond line"), "error: initdb failed: second line"),
        (DatabaseUnavailable(), "database unavailable: check TOKENPULSE_DATABASE_URL"),
    ],
)
def test_describe_is_one_line(error: TokenpulseError, line: str) -> None:
    assert cli.describe(error).startswith(line)
    assert "\n" not in cli.describe(error)


def test_migrate_summary() -> None:
    report = migrate.Report(SchemaMode.PORTABLE, ["0001_core"], ["idempotent/010_coverage.sql"])
    assert cli.migrate_summary(report) == (
        "mode: portable; applied: 0001_core; idempotent: 1 file(s)"
    )
    report = migrate.Report(SchemaMode.PORTABLE, [], ["idempotent/010_coverage.sql"])
    assert cli.migrate_summary(report) == "mode: portable; applied: nothing (up to date)"


# -- simulate, backfill, demo (ingestion milestone) -------------------------------------------


def test_importing_the_cli_loads_no_ingestion_or_simulator_code() -> None:
    code = (
        "import sys, app.cli;"
        "print(sorted(m for m in sys.modules if m.startswith(('app.ingest', 'app.simulator',"
        " 'app.upstreams', 'httpx'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"


def test_backfill_needs_exactly_one_start() -> None:
    for args in (["--chain", "137"], ["--chain", "137", "--days", "2", "--from-block", "1"]):
        result = invoke(["backfill", *args], **TEST_ENV)
        assert result.exit_code == 2
        assert "give exactly one of --days and --from-block" in result.stderr


def test_backfill_refuses_a_chain_that_is_not_enabled() -> None:
    result = invoke(
        ["backfill", "--chain", "5", "--days", "1"],
        **TEST_ENV,
        TOKENPULSE_DATABASE_URL="postgresql://x@127.0.0.1:1/x",
    )
    assert_one_line(result, "--chain: 5 is not an enabled chain (enabled: 1, 10, 56, 137,")


def test_backfill_needs_a_database() -> None:
    result = invoke(["backfill", "--chain", "137", "--days", "1"], **TEST_ENV)
    assert_one_line(result, "TOKENPULSE_DATABASE_URL: is not set")


def test_backfill_with_the_database_down_is_one_line() -> None:
    env = {**TEST_ENV, "TOKENPULSE_DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}
    result = invoke(["backfill", "--chain", "137", "--days", "1"], **env)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "tokenpulse: database unavailable: check TOKENPULSE_DATABASE_URL and that the server is up"
    )


def test_simulate_refuses_bad_options() -> None:
    result = invoke(["simulate", "--speed", "0"])
    assert result.exit_code == 2
    assert "--speed" in result.stderr


def test_progress_line_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from app.backfill import ProgressLine

    line = ProgressLine("chain 137", every=3600)
    line.update(10, 1000)  # within the interval: not shown
    line.update(1000, 1000)  # the last one always is
    line.finish()
    err = capsys.readouterr().err
    assert err.startswith("chain 137: 100.0% 1,000/1,000 blocks, ")
    assert err.count("\n") == 1


def test_demo_raises_the_pace_only_for_its_own_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import config as app_config
    from app import embedded

    for key, value in clean_env(**TEST_ENV).items():  # demo_config reloads from os.environ
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, value)
    paced = embedded.demo_config(app_config.load(demo=True), "http://127.0.0.1:9999")
    assert paced.settings.upstream_calls_per_second == embedded.DEMO_CALLS_PER_SECOND
    assert paced.chains[0].base_url == "http://127.0.0.1:9999/v2/api"
    for chosen in ("0.5", "1.0"):  # the user's choice stands, even when it is the default
        monkeypatch.setenv("TOKENPULSE_UPSTREAM_CALLS_PER_SECOND", chosen)
        kept = embedded.demo_config(app_config.load(demo=True), "http://127.0.0.1:9999")
        assert kept.settings.upstream_calls_per_second == float(chosen)
