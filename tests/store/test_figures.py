"""upstream_figures (last-known-good), alerts (deduplicated while open) and validation reports."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from app.config import Config
from app.domain import Figure
from app.store import alerts, chains, figures, validation
from app.store.figures import FigureAttempt
from app.store.pool import Connection


@pytest.fixture
async def db(conn: Connection, config: Config) -> Connection:
    async with conn.transaction():
        await chains.upsert_chains(conn, config.chains)
    return conn


async def append(conn: Connection, *attempts: FigureAttempt) -> None:
    async with conn.transaction():
        for attempt in attempts:
            await figures.append(conn, attempt)


def by_key(found: list[figures.UpstreamFigure]) -> dict[tuple[int, Figure], figures.UpstreamFigure]:
    return {(f.chain_id, f.figure): f for f in found}


async def test_newest_good_value_is_fresh(db: Connection) -> None:
    await append(
        db,
        FigureAttempt(1, Figure.SUPPLY, "etherscan", value=100),
        FigureAttempt(1, Figure.SUPPLY, "etherscan", value=120),
        FigureAttempt(1, Figure.TRANSFERS, "etherscan", value=7, block_lo=10, block_hi=20),
    )
    found = by_key(await figures.latest_good(db))
    supply = found[(1, Figure.SUPPLY)]
    assert (supply.value, supply.stale, supply.last_ok, supply.last_error) == (
        120,
        False,
        True,
        None,
    )
    assert supply.fetched_at == supply.last_attempt_at
    assert supply.age_seconds is not None
    assert 0 <= supply.age_seconds < 60
    window = found[(1, Figure.TRANSFERS)]
    assert (window.value, window.block_lo, window.block_hi) == (7, 10, 20)
    assert set(found) == {(1, Figure.SUPPLY), (1, Figure.TRANSFERS)}  # never attempted: absent


async def test_failed_attempt_keeps_the_last_good_value_marked_stale(db: Connection) -> None:
    await append(db, FigureAttempt(137, Figure.HOLDERS, "etherscan", value=5000))
    await append(
        db,
        FigureAttempt(137, Figure.HOLDERS, "etherscan", error="upstream_unavailable", detail="503"),
    )
    holders = by_key(await figures.latest_good(db))[(137, Figure.HOLDERS)]
    assert holders.value == 5000  # never 0, never None
    assert holders.stale
    assert not holders.last_ok
    assert holders.last_error == "upstream_unavailable"
    assert holders.last_detail == "503"
    assert holders.fetched_at is not None
    assert holders.fetched_at < holders.last_attempt_at
    # A later success makes it fresh again.
    await append(db, FigureAttempt(137, Figure.HOLDERS, "etherscan", value=5001))
    holders = by_key(await figures.latest_good(db))[(137, Figure.HOLDERS)]
    assert (holders.value, holders.stale) == (5001, False)


async def test_never_good_is_unavailable_not_zero(db: Connection) -> None:
    await append(db, FigureAttempt(1, Figure.HOLDERS, "etherscan", error="upstream_not_on_plan"))
    holders = by_key(await figures.latest_good(db, chain_id=1))[(1, Figure.HOLDERS)]
    assert holders.value is None
    assert not holders.available
    assert holders.fetched_at is None
    assert holders.age_seconds is None
    assert holders.stale
    assert holders.last_error == "upstream_not_on_plan"
    assert holders.source == "etherscan"
    rows = await figures.list_recent(db, 1, Figure.HOLDERS)
    assert [(r["ok"], r["value"]) for r in rows] == [(False, None)]


async def test_max_age_makes_an_old_value_stale(db: Connection) -> None:
    await append(db, FigureAttempt(1, Figure.SUPPLY, "etherscan", value=1))
    assert not (await figures.latest_good(db))[0].stale
    assert (await figures.latest_good(db, max_age_seconds=0.0))[0].stale


def test_an_attempt_has_a_value_or_an_error() -> None:
    with pytest.raises(ValueError, match="either"):
        FigureAttempt(1, Figure.SUPPLY, "etherscan")
    with pytest.raises(ValueError, match="either"):
        FigureAttempt(1, Figure.SUPPLY, "etherscan", value=1, error="x")
    with pytest.raises(ValueError, match="negative"):
        FigureAttempt(1, Figure.SUPPLY, "etherscan", value=-1)


async def test_the_table_refuses_a_failed_row_with_a_value(db: Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        async with db.transaction():
            await db.execute(
                "insert into upstream_figures (chain_id, figure, value, source, ok, error)"
                " values (1, 'holders', 0, 'etherscan', false, 'x')"
            )


async def test_alerts_are_deduplicated_while_open_and_reopen_after_resolve(
    db: Connection,
) -> None:
    async def raise_it(message: str) -> tuple[int, bool]:
        async with db.transaction():
            return await alerts.raise_alert(
                db, kind="validation_variance", dedupe_key="k:1", message=message, chain_id=1,
                details={"variance": 0.05},
            )  # fmt: skip

    first, created = await raise_it("5 %")
    again, created_again = await raise_it("6 %")
    assert created
    assert not created_again
    assert again == first
    [alert] = await alerts.list_open(db)
    assert (alert.id, alert.message, alert.occurrences) == (first, "6 %", 2)
    assert alert.severity is alerts.Severity.WARNING
    assert alert.details == {"variance": 0.05}
    async with db.transaction():
        assert await alerts.resolve(db, "k:1") == first
        assert await alerts.resolve(db, "k:1") is None
    assert await alerts.list_open(db) == []
    reopened, created = await raise_it("7 %")
    assert created
    assert reopened != first
    assert [a.id for a in await alerts.list_open(db, "validation_variance")] == [reopened]
    assert await alerts.list_open(db, "other") == []


async def test_validation_reports_round_trip(db: Connection) -> None:
    now = datetime.now(UTC)
    async with db.transaction():
        report_id = await validation.insert_report(
            db, origin="cli", started_at=now, finished_at=now, threshold=0.02,
            report={"flagged": 1}, markdown="# r", flagged=1,
        )  # fmt: skip
    latest = await validation.find_latest(db)
    assert latest is not None
    assert (latest.id, latest.report, latest.markdown, latest.flagged) == (
        report_id, {"flagged": 1}, "# r", 1,
    )  # fmt: skip
    assert [r["id"] for r in await validation.list_recent(db)] == [report_id]


async def test_prune_keeps_what_latest_good_reads(db: Connection) -> None:
    await append(
        db,
        FigureAttempt(1, Figure.SUPPLY, "etherscan", value=1),  # old, superseded: goes
        FigureAttempt(1, Figure.SUPPLY, "etherscan", value=2),  # newest good: stays
        FigureAttempt(1, Figure.SUPPLY, "etherscan", error="upstream_unavailable"),  # newest
        FigureAttempt(1, Figure.HOLDERS, "etherscan", error="upstream_not_on_plan"),  # goes
        FigureAttempt(1, Figure.HOLDERS, "etherscan", error="upstream_not_on_plan"),  # newest
    )
    before = by_key(await figures.latest_good(db))
    async with db.transaction():
        await db.execute("update upstream_figures set fetched_at = fetched_at - interval '91 days'")
        assert await figures.prune(db) == 2
        assert await figures.prune(db, keep_days=365) == 0
    after = by_key(await figures.latest_good(db))
    assert {k: (f.value, f.last_error) for k, f in after.items()} == {
        k: (f.value, f.last_error) for k, f in before.items()
    }
