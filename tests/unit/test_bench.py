"""The benchmark harness's pure parts, so `make bench` does not rot between runs."""

from __future__ import annotations

from datetime import UTC, datetime

from app import config
from app.domain import SchemaMode
from bench import data, report
from bench.api import Endpoint
from bench.store import Migrated
from tests.conftest import TEST_ENV

CHAINS = config.load(TEST_ENV).chains


def test_split_gives_the_busiest_chain_its_share_and_loses_no_row() -> None:
    shares = data.split(10_001, CHAINS, 137)
    assert sum(shares.values()) == 10_001
    assert set(shares) == {chain.id for chain in CHAINS}
    assert abs(shares[137] - 10_001 * data.BUSIEST_SHARE) < 10


def test_transfers_come_in_ingestion_order_and_are_unique() -> None:
    rows = data.transfers(data.split(3_000, CHAINS, 137), CHAINS, seed=1)
    assert len(rows) == 3_000
    assert len({(r.chain_id, r.tx_hash, r.log_index) for r in rows}) == 3_000
    for chain in CHAINS:
        mine = [(r.block_number, r.log_index) for r in rows if r.chain_id == chain.id]
        assert mine == sorted(mine), "each chain's rows arrive in block order"
        assert all(block >= chain.first_block for block, _ in mine)
    assert rows == data.transfers(data.split(3_000, CHAINS, 137), CHAINS, seed=1)


def test_copy_row_matches_the_copy_types() -> None:
    row = data.copy_row(data.transfers({137: 1}, CHAINS, seed=2)[0])
    assert len(row) == len(data.COPY_COLUMNS) == len(data.COPY_TYPES)
    assert isinstance(row[3], bytes)
    assert len(row[3]) == 32


def test_percentiles() -> None:
    assert report.percentiles([float(n) for n in range(1, 101)]) == (50.5, 95.05, 99.01)


def test_markdown_renders_every_section() -> None:
    result = report.ModeResult(
        migrated=Migrated(SchemaMode.TIMESCALE, 0.2, 0.01, 3),
        copy_rows=1000,
        copy_seconds=0.1,
        bare_copy_seconds=0.01,
        store_rows=500,
        store_seconds=0.1,
        store_batch=100,
        reload_ms=5.0,
        total_rows=1500,
        indexes=7,
        page_chain=137,
        page_chain_rows=600,
        pages={"first page": [1.0, 2.0, 3.0]},
        plan_ms=(20.0, 1.0),
        chunks=44,
        api=[Endpoint("GET /api/health", "GET", "/api/health", problem="HTTP 404")],
        timescaledb=("2.28.3", "7 days"),
    )
    machine = report.Machine(2, 24.0, "cpu", "3.11", "15")
    params = {"rows": 1000, "store_rows": 500, "span_days": 365, "holders": 10, "seed": 1}
    text = report.markdown(
        [result], machine, datetime(2026, 1, 1, tzinfo=UTC), params | {"load": (1.0, 2.0)}, {}
    )
    assert "### timescale mode (TimescaleDB 2.28.3)" in text
    assert "**10,000 rows/s**" in text
    assert "not measured: HTTP 404" in text
    assert "is below the anchor" in text
    assert "planning dominates" in text
    assert "7 days" in text
