"""app.warm.classify: the four warm states and their thresholds, from ingestion records only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.warm import Reading, Record, Thresholds, WarmStatus, classify

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = Thresholds(fresh_seconds=120, stale_seconds=900)


def reading(
    since: float | None = 10,
    *,
    head: int | None = 1000,
    synced: int | None = 1000,
    covered: bool = True,
    block_time: float = 2.0,
) -> Reading:
    record = Record(
        last_success_at=None if since is None else NOW - timedelta(seconds=since),
        head=head,
        synced_block=synced,
        covered=covered,
        block_time_seconds=block_time,
    )
    return classify(record, NOW, LIMITS)


def test_recent_sync_at_the_head_is_fresh() -> None:
    found = reading(10)
    assert found.status is WarmStatus.FRESH
    assert (found.since_success_seconds, found.head_lag_blocks, found.lag_seconds) == (10, 0, 0)


def test_a_quiet_chain_with_healthy_sync_is_fresh() -> None:
    # No transfer for days is irrelevant: nothing here even looks at transfers.
    assert reading(5, head=5_000_000, synced=5_000_000).status is WarmStatus.FRESH


def test_never_synced_is_cold() -> None:
    found = reading(None, head=None, synced=None)
    assert found.status is WarmStatus.COLD
    assert found.reason == "never synced"


def test_synced_but_nothing_covered_is_cold() -> None:
    assert reading(10, covered=False).status is WarmStatus.COLD


@pytest.mark.parametrize(
    ("since", "status"),
    [
        (120, WarmStatus.FRESH),  # the threshold itself is still fresh
        (120.5, WarmStatus.LAGGING),
        (900, WarmStatus.LAGGING),
        (900.5, WarmStatus.STALE),
        (86_400, WarmStatus.STALE),
    ],
)
def test_time_since_the_last_success(since: float, status: WarmStatus) -> None:
    assert reading(since).status is status


@pytest.mark.parametrize(
    ("behind", "status"),
    [(60, WarmStatus.FRESH), (61, WarmStatus.LAGGING), (451, WarmStatus.STALE)],
)
def test_head_lag_in_seconds_of_blocks(behind: int, status: WarmStatus) -> None:
    # 2 s blocks: 60 blocks behind = 120 s (fresh), 61 = 122 s, 451 = 902 s.
    found = reading(5, head=10_000, synced=10_000 - behind)
    assert found.status is status
    assert found.head_lag_blocks == behind
    assert found.lag_seconds == behind * 2.0
    if status is not WarmStatus.FRESH:
        assert "behind the head" in found.reason


def test_block_time_decides_what_a_block_lag_means() -> None:
    assert reading(5, head=1000, synced=800, block_time=0.25).status is WarmStatus.FRESH
    assert reading(5, head=1000, synced=800, block_time=12).status is WarmStatus.STALE


def test_unknown_head_judges_by_time_alone() -> None:
    found = reading(30, head=None)
    assert found.status is WarmStatus.FRESH
    assert found.head_lag_blocks is None
    assert found.lag_seconds is None


def test_synced_past_the_seen_head_is_no_lag() -> None:
    assert reading(5, head=100, synced=105).head_lag_blocks == 0


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="fresh_seconds"):
        Thresholds(fresh_seconds=1000, stale_seconds=900)
