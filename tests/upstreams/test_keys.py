"""KeyPool rotation and back-off, and what the gateway does with rate limits, quotas and
refused keys across several keys."""

from __future__ import annotations

import pytest

from app.upstreams import ApiKey, BackoffReason, KeyPool, Outcome, RetryPolicy, fingerprint
from app.upstreams.errors import (
    QuotaExhausted,
    RangeTooLarge,
    RateLimited,
    UpstreamRefused,
)
from tests.upstreams.helpers import FakeClock, make_rig, notok, ok

RATE = "Max calls per sec rate limit reached (3/sec)"


def pool_of(count: int, clock: FakeClock, max_wait: float = 60) -> KeyPool:
    keys = [ApiKey("etherscan", f"etherscan#{n}", f"secret-key-{n}") for n in range(1, count + 1)]
    return KeyPool(keys, clock=clock, sleep=clock.sleep, max_wait=max_wait)


async def labels(pool: KeyPool, count: int) -> list[str]:
    return [(await pool.acquire()).label for _ in range(count)]


def test_fingerprints_are_stable_short_and_not_the_key() -> None:
    key = ApiKey("etherscan", "etherscan#1", "my-secret-key")
    assert key.key_id == fingerprint("etherscan", "my-secret-key")
    assert key.key_id.startswith("etherscan:")
    assert len(key.key_id) == len("etherscan:") + 16
    assert "my-secret-key" not in key.key_id
    with pytest.raises(ValueError, match="provider"):
        fingerprint("Ether Scan", "x")


async def test_round_robin() -> None:
    pool = pool_of(3, FakeClock())
    assert await labels(pool, 5) == [f"etherscan#{n}" for n in (1, 2, 3, 1, 2)]


async def test_backed_off_keys_are_skipped_until_they_recover() -> None:
    clock = FakeClock()
    pool = pool_of(3, clock)
    pool.back_off(pool.keys[1], 10, BackoffReason.RATE_LIMITED)
    assert await labels(pool, 3) == ["etherscan#1", "etherscan#3", "etherscan#1"]
    assert pool.usable() == 2
    clock.now += 10
    assert "etherscan#2" in await labels(pool, 3)
    assert clock.sleeps == []


async def test_all_backed_off_waits_for_the_soonest() -> None:
    clock = FakeClock()
    pool = pool_of(2, clock)
    pool.back_off(pool.keys[0], 30, BackoffReason.RATE_LIMITED)
    pool.back_off(pool.keys[1], 5, BackoffReason.RATE_LIMITED)
    assert (await pool.acquire()).label == "etherscan#2"
    assert clock.sleeps == [5]


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        (BackoffReason.QUOTA_EXHAUSTED, QuotaExhausted),
        (BackoffReason.INVALID, UpstreamRefused),
        (BackoffReason.RATE_LIMITED, RateLimited),
    ],
)
async def test_a_wait_beyond_max_wait_raises_why(
    reason: BackoffReason, error: type[Exception]
) -> None:
    clock = FakeClock()
    pool = pool_of(2, clock, max_wait=60)
    for key in pool.keys:
        pool.back_off(key, 3600, reason)
    with pytest.raises(error, match="all 2 key"):
        await pool.acquire()
    assert clock.sleeps == []


def test_status_shows_labels_and_fingerprints_only() -> None:
    clock = FakeClock()
    pool = pool_of(2, clock)
    pool.back_off(pool.keys[0], 10, BackoffReason.RATE_LIMITED)
    first, second = pool.status()
    assert (first.label, first.reason, first.rate_limit_hits) == ("etherscan#1", "rate_limited", 1)
    assert first.backed_off_seconds == 10
    assert (second.reason, second.backed_off_seconds) == (None, 0)
    assert "secret-key" not in repr(pool.status()) + repr(pool)


async def test_rate_limited_key_is_backed_off_and_the_next_key_used() -> None:
    rig = make_rig([notok(RATE), ok("1")], secrets=("key-one-123", "key-two-456"))
    assert (await rig.call()).payload == "1"
    assert rig.script.keys_used() == ["key-one-123", "key-two-456"]
    first = rig.keys.keys[0]
    assert rig.ledger.slots[first.key_id].rate_limit_hits == 1
    assert rig.ledger.calls[(first.key_id, "stats/x", Outcome.RATE_LIMITED)] == 1
    assert rig.keys.status()[0].reason == "rate_limited"
    assert rig.clock.sleeps == []  # another key was free: no waiting


async def test_single_key_rate_limited_waits_its_backoff_then_gives_up() -> None:
    rig = make_rig([notok(RATE)], policy=RetryPolicy(max_attempts=4), rand=lambda: 0.0)
    with pytest.raises(RateLimited, match="gave up after 4"):
        await rig.call()
    # Per-key back-off: 1 s, then exponential with equal jitter (rand 0 -> half the ceiling).
    assert rig.clock.sleeps == [1.0, 1.0, 2.0]
    assert rig.ledger.slots[rig.keys.keys[0].key_id].rate_limit_hits == 4


async def test_success_resets_the_consecutive_hit_count() -> None:
    rig = make_rig([notok(RATE), ok("1"), notok(RATE), ok("2")])
    await rig.call()
    await rig.call()
    assert rig.clock.sleeps == [1.0, 1.0]
    assert rig.keys.consecutive_hits(rig.keys.keys[0]) == 0


async def test_quota_exhausted_key_rests_until_midnight_and_another_key_serves() -> None:
    daily = "Max daily rate limit reached. 100000 (100%) of 100000 day/limit"
    rig = make_rig([notok(daily), ok("1")], secrets=("key-one-123", "key-two-456"))
    assert (await rig.call()).payload == "1"
    status = rig.keys.status()[0]
    assert status.reason == "quota_exhausted"
    assert status.backed_off_seconds == 86_400  # START is a UTC midnight
    # The shared ledger holds the key back too, for other processes.
    assert rig.ledger.slots[rig.keys.keys[0].key_id].backoff_until == rig.clock.now + 86_400


async def test_ledger_quota_refusal_rotates_without_a_request() -> None:
    rig = make_rig([ok("1")], secrets=("key-one-123", "key-two-456"), daily_quota=1)
    for _ in range(2):
        await rig.call()
    with pytest.raises(QuotaExhausted, match="all 2 key"):
        await rig.call()
    assert len(rig.script.requests) == 2


async def test_invalid_key_is_set_aside_and_another_tried() -> None:
    rig = make_rig([notok("Invalid API Key (#err2)"), ok("1")], secrets=("bad-key-1", "good-k-2"))
    assert (await rig.call()).payload == "1"
    assert rig.keys.status()[0].reason == "invalid"
    with pytest.raises(UpstreamRefused):
        await make_rig([notok("Invalid API Key")]).call()  # one key: nothing else to try


async def test_permanent_refusals_are_not_retried() -> None:
    paid = "Free API access is not supported for this chain. Please upgrade your api plan"
    rig = make_rig([notok(paid)], secrets=("key-one-123", "key-two-456"))
    with pytest.raises(UpstreamRefused, match="Free API access"):
        await rig.call()
    assert len(rig.script.requests) == 1


async def test_range_refusals_are_returned_not_retried() -> None:
    rig = make_rig([notok("Query Timeout occured. Please select a smaller result dataset")])
    with pytest.raises(RangeTooLarge) as caught:
        await rig.call("logs/getLogs")
    assert len(rig.script.requests) == 1
    assert caught.value.code == "upstream_range_too_large"
    assert caught.value.endpoint == "logs/getLogs"


async def test_key_held_back_by_another_process_is_skipped_not_slept_on() -> None:
    rig = make_rig([ok("1")], secrets=("key-one-123", "key-two-456"))
    first = rig.keys.keys[0]
    await rig.ledger.rate_limited(first, 600)  # as if another process had been limited
    assert (await rig.call()).payload == "1"
    assert rig.script.keys_used() == ["key-two-456"]
    assert rig.keys.status()[0].reason == "held"
    assert rig.clock.sleeps == []


async def test_single_key_held_back_raises_rate_limited_at_once() -> None:
    rig = make_rig([ok("1")])
    await rig.ledger.rate_limited(rig.keys.keys[0], 600)
    with pytest.raises(RateLimited, match="held"):
        await rig.call()
    assert rig.script.requests == []
    assert rig.clock.sleeps == []
