"""Accuracy labels of totals (app.totals): full, partial and outage scenarios, no database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.totals import (
    Accuracy,
    ChainTotals,
    Coverage,
    FigureName,
    Observed,
    Policy,
    StoreFigures,
    chain_totals,
    overall,
    weakest,
)

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
COMPLETE = Coverage(first_block=100, last_block=5_000, gaps=0, complete=True)
GAPPY = Coverage(first_block=100, last_block=5_000, gaps=2, complete=False)
H, S, T, V = FigureName.HOLDERS, FigureName.SUPPLY, FigureName.TRANSFERS, FigureName.VOLUME


def store(
    coverage: Coverage = COMPLETE, *, reconciled: bool | None = None, stale: bool = False
) -> StoreFigures:
    return StoreFigures(
        transfers=1_000,
        volume=5_000_000,
        holders=200,
        supply=10_000_000,
        coverage=coverage,
        synced_at=NOW - timedelta(seconds=30),
        ingest_stale=stale,
        reconciled=reconciled,
    )


def seen(value: int | None, *, age: float = 60, error: str | None = None) -> Observed:
    fetched = NOW - timedelta(seconds=age) if value is not None else None
    return Observed("etherscan", value, fetched, NOW - timedelta(seconds=5), error)


def test_complete_coverage_is_exact_and_comes_from_the_store() -> None:
    totals = chain_totals(1, store(), {}, NOW)
    for name, value in ((T, 1_000), (V, 5_000_000), (H, 200), (S, 10_000_000)):
        figure = totals.figures[name]
        assert (figure.value, figure.accuracy, figure.source) == (value, Accuracy.EXACT, "store")
        assert figure.source_timestamp == NOW - timedelta(seconds=30)
        assert figure.age_seconds == 30
        assert not figure.stale


def test_an_agreeing_explorer_verifies_holders_and_supply() -> None:
    observed = {H: [seen(201)], S: [seen(10_000_000)]}  # 0.5% off, equal
    totals = chain_totals(1, store(), observed, NOW)
    assert totals.figures[H].accuracy is Accuracy.VERIFIED
    assert totals.figures[H].value == 200  # ours: the explorer only confirms it
    assert totals.figures[H].upstream[0].variance == pytest.approx(1 / 201)
    assert totals.figures[S].accuracy is Accuracy.VERIFIED


def test_a_disagreeing_or_stale_explorer_leaves_it_exact() -> None:
    off = chain_totals(1, store(), {H: [seen(230)]}, NOW)  # 13% off
    assert off.figures[H].accuracy is Accuracy.EXACT
    old = chain_totals(1, store(), {H: [seen(200, age=3 * 86_400)]}, NOW)
    assert old.figures[H].accuracy is Accuracy.EXACT
    assert old.figures[H].upstream[0].stale


def test_a_clean_reconciliation_verifies_counts_and_volume() -> None:
    totals = chain_totals(1, store(reconciled=True), {}, NOW)
    assert totals.figures[T].accuracy is Accuracy.VERIFIED
    assert totals.figures[V].accuracy is Accuracy.VERIFIED
    faulty = chain_totals(1, store(reconciled=False), {}, NOW)
    assert faulty.figures[T].accuracy is Accuracy.EXACT


def test_gaps_make_counts_partial_and_let_the_explorer_stand_in_for_holders() -> None:
    totals = chain_totals(1, store(GAPPY), {H: [seen(250)], S: [seen(12_000_000)]}, NOW)
    assert totals.figures[T].accuracy is Accuracy.PARTIAL
    assert totals.figures[T].value == 1_000  # a lower bound, still ours
    holders = totals.figures[H]
    assert (holders.value, holders.accuracy, holders.source) == (
        250,
        Accuracy.ESTIMATED,
        "etherscan",
    )
    assert holders.upstream[0].variance is None  # ours is not the chain's figure: no comparison


def test_gaps_without_an_upstream_figure_stay_partial() -> None:
    totals = chain_totals(1, store(GAPPY), {H: [seen(None, error="NOT_ON_PLAN")]}, NOW)
    assert totals.figures[H].accuracy is Accuracy.PARTIAL
    assert totals.figures[H].value == 200
    # Mints outside the covered blocks are missing: no supply rather than a wrong one.
    assert totals.figures[S].accuracy is Accuracy.PARTIAL
    assert totals.figures[S].value is None


def test_an_outage_serves_the_last_good_value_stale_with_its_age_never_zero() -> None:
    outage = seen(250, age=7_200, error="UPSTREAM_UNAVAILABLE")
    totals = chain_totals(1, store(GAPPY), {H: [outage]}, NOW)
    holders = totals.figures[H]
    assert holders.value == 250
    assert holders.stale
    assert holders.age_seconds == 7_200
    assert holders.accuracy is Accuracy.ESTIMATED


def test_stalled_ingestion_marks_store_values_stale() -> None:
    totals = chain_totals(1, store(stale=True), {}, NOW)
    assert all(figure.stale for figure in totals.figures.values())


def test_overall_sums_with_the_weakest_label_and_the_oldest_timestamp() -> None:
    a = chain_totals(1, store(reconciled=True), {}, NOW)
    older = dataclasses.replace(store(GAPPY), synced_at=NOW - timedelta(seconds=130))
    b = chain_totals(2, older, {}, NOW)
    total = overall([a, b], NOW)
    assert total[T].value == 2_000
    assert total[T].accuracy is Accuracy.PARTIAL
    assert total[T].source_timestamp == NOW - timedelta(seconds=130)
    assert total[T].age_seconds == 130


def test_an_unknown_part_leaves_the_sum_unknown() -> None:
    figures = chain_totals(1, store(), {}, NOW).figures
    blank = dataclasses.replace(figures[H], value=None, accuracy=Accuracy.ESTIMATED)
    unknown = ChainTotals(2, GAPPY, {**figures, H: blank})
    total = overall([chain_totals(1, store(), {}, NOW), unknown], NOW)
    assert total[H].value is None
    assert total[T].value == 2_000


def test_weakest_and_policy_threshold() -> None:
    assert weakest([Accuracy.VERIFIED, Accuracy.EXACT]) is Accuracy.EXACT
    assert weakest([Accuracy.EXACT, Accuracy.ESTIMATED, Accuracy.PARTIAL]) is Accuracy.ESTIMATED
    loose = Policy(variance_threshold=0.2)
    assert chain_totals(1, store(), {H: [seen(230)]}, NOW, loose).figures[H].accuracy is (
        Accuracy.VERIFIED
    )
