"""``tokenpulse validate``: the stored report in either format and the exit codes (0 nothing
flagged, 1 something flagged, 2 bad configuration or arguments). ``--no-fetch`` compares with
figures written here, so no upstream is needed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app import cli
from app.domain import Figure
from app.store import chains, coverage, figures, validation
from app.store import pool as pool_module
from app.store.figures import FigureAttempt
from tests.conftest import make_config
from tests.unit.test_cli import clean_env

ETH = 1
LO, HI = 23_080_000, 23_080_099  # covered, with no transfer stored in it


@pytest.fixture
def mode() -> str:
    return "portable"  # the command, not the schema, is under test


def invoke(database_url: str, *args: str) -> Result:
    env = clean_env(
        TOKENPULSE_DATABASE_URL=database_url,
        TOKENPULSE_ETHERSCAN_API_KEYS="test-etherscan-key-1",
        TOKENPULSE_CRONOS_API_KEYS="test-cronos-key-1",
        TOKENPULSE_LOG_LEVEL="WARNING",
    )
    return CliRunner().invoke(cli.cli, ["validate", *args], env=env, prog_name="tokenpulse")


def seed(database_url: str, upstream_count: int) -> None:
    """Chain 1 covers [LO, HI] with no transfer; the explorer says ``upstream_count``."""

    async def run() -> None:
        config = make_config(database_url)
        conn = await pool_module.connect(config.settings)
        async with conn, conn.transaction():
            await chains.upsert_chains(conn, config.chains)
            await coverage.add_range(conn, ETH, LO, HI)
            attempt = FigureAttempt(
                ETH, Figure.TRANSFERS, "etherscan", value=upstream_count, block_lo=LO, block_hi=HI
            )
            await figures.append(conn, attempt)

    asyncio.run(run())


def stored_origin(database_url: str) -> str | None:
    async def run() -> str | None:
        conn = await pool_module.connect(make_config(database_url).settings)
        async with conn:
            found = await validation.find_latest(conn)
        return None if found is None else found.origin

    return asyncio.run(run())


def test_nothing_flagged_exits_0_with_the_markdown_report(database_url: str) -> None:
    seed(database_url, upstream_count=0)
    result = invoke(database_url, "--no-fetch", "--chain", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Validation report (cli)")
    assert "| Ethereum (1) | transfers | 0 | 0 | 0.00% | ok |" in result.stdout
    assert "0 of 3 comparisons flagged" in result.stderr
    assert stored_origin(database_url) == "cli"


def test_flagged_exits_1_and_writes_json(database_url: str, tmp_path: Path) -> None:
    seed(database_url, upstream_count=10)
    out = tmp_path / "report.json"
    result = invoke(
        database_url, "--no-fetch", "--chain", "1", "--format", "json", "--out", str(out)
    )
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    body = json.loads(out.read_text("utf-8"))
    assert body["flagged"] == 1
    transfers = body["comparisons"][0]
    assert (transfers["figure"], transfers["status"], transfers["ours"], transfers["theirs"]) == (
        "transfers", "flagged", "0", "10",
    )  # fmt: skip
    # Holders and supply: our history does not reach first_block, so no verdict, no alarm.
    assert [c["status"] for c in body["comparisons"][1:]] == ["not_comparable"] * 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--chain", "999"], "configuration error: --chain: 999 is not an enabled chain"),
        (["--threshold", "5"], "Invalid value for '--threshold'"),
        (["--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_bad_arguments_exit_2(database_url: str, args: list[str], said: str) -> None:
    result = invoke(database_url, "--no-fetch", *args)
    assert result.exit_code == 2
    assert said in result.stderr
