"""The benchmark harness's pure parts, so `make bench` does not rot between runs."""

from __future__ import annotations

from datetime import UTC, datetime

from app import config
from app.domain import SchemaMode
from bench import data, dataset, report, transfers_api, transfers_report
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


class FakeMachine:
    """A load average that falls by one each poll, and a clock that the polls move."""

    def __init__(self, loads: list[float]) -> None:
        self.loads, self.now, self.said = loads, 0.0, list[str]()

    def loadavg(self) -> tuple[float, float, float]:
        load = self.loads.pop(0) if len(self.loads) > 1 else self.loads[0]
        return (load, 0.0, 0.0)

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def wait(self, timing: transfers_api.Timing) -> transfers_api.Quiet:
        return await transfers_api.wait_for_quiet(
            timing,
            self.said.append,
            cores=2,
            loadavg=self.loadavg,
            sleep=self.sleep,
            clock=lambda: self.now,
        )


async def test_timing_waits_for_the_load_to_fall_below_the_threshold() -> None:
    machine = FakeMachine([3.0, 2.0, 1.5, 0.9, 0.1])
    quiet = await machine.wait(transfers_api.Timing(quiet_load_per_core=0.5))
    assert (quiet.load, quiet.threshold, quiet.reached) == (0.9, 1.0, True)
    assert quiet.waited_seconds == 3 * transfers_api.QUIET_POLL_SECONDS
    assert machine.said == ["waiting for the load average (3.00) to fall below 1.00"]


async def test_a_quiet_machine_is_timed_at_once() -> None:
    machine = FakeMachine([0.4])
    quiet = await machine.wait(transfers_api.Timing())
    assert (quiet.waited_seconds, quiet.reached, machine.said) == (0.0, True, [])


async def test_timing_starts_anyway_after_the_timeout_and_says_so() -> None:
    machine = FakeMachine([7.8])
    quiet = await machine.wait(transfers_api.Timing(quiet_timeout=60))
    assert not quiet.reached
    assert quiet.waited_seconds >= 60
    assert machine.said[-1] == "load average still 7.80 after 60 s: timing anyway"


def test_the_report_states_the_load_each_timing_began_at() -> None:
    built = dataset.Built(1000, 1.0, 1.0, 1.0, 2.0)
    result = transfers_api.ApiBench("portable", 1000, built, 10.0, [10], 5.0)
    result.quiet = {
        "uncached": transfers_api.Quiet(0.62, 45.0, 1.0),
        "cached": transfers_api.Quiet(0.4, 0.0, 1.0),
        "legacy": transfers_api.Quiet(2.5, 300.0, 1.0),
    }
    text = transfers_report.section([result], datetime(2026, 11, 29, tzinfo=UTC), (1.0, 2.0))
    assert (
        "Load average (1 min) when timing began, the harness waiting for it to fall below 1.00:"
        " uncached 0.62 (after waiting 45 s), cached 0.40, legacy 2.50 (after waiting 300 s;"
        " still above 1.00)."
    ) in text
    assert "balances filled in 2 s" in text
