"""Retry timing (exponential, full jitter, caps, Retry-After) with a fake sleep, and circuit
breakers opening after failures and recovering through half-open."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from app.upstreams import Outcome, RetryPolicy
from app.upstreams._resilience import BreakerPolicy, Breakers, parse_retry_after
from app.upstreams.errors import CircuitOpen, RangeTooLarge, UpstreamUnavailable
from tests.upstreams.helpers import Reply, make_rig, notok, ok


def test_ceiling_is_exponential_and_capped() -> None:
    policy = RetryPolicy()
    assert [policy.ceiling(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.ceiling(10_000) == 60  # no overflow


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.999])
def test_full_jitter_stays_within_bounds(draw: float) -> None:
    policy = RetryPolicy()
    for attempt in range(1, 10):
        delay = policy.delay(attempt, rand=lambda: draw)
        assert 0 <= delay <= policy.ceiling(attempt)
        assert delay == pytest.approx(draw * policy.ceiling(attempt))


def test_retry_after_wins_and_is_capped() -> None:
    policy = RetryPolicy(retry_after_cap_seconds=120)
    assert policy.delay(1, retry_after=7, rand=lambda: 0.0) == 7
    assert policy.delay(1, retry_after=3600) == 120
    assert policy.delay(1, retry_after=-5) == 0


def test_key_backoff_starts_at_one_second_then_grows_with_jitter() -> None:
    policy = RetryPolicy()
    assert policy.key_backoff(1, rand=lambda: 0.0) == 1.0
    assert policy.key_backoff(3, rand=lambda: 0.0) == 2.0  # half of the 4 s ceiling
    assert policy.key_backoff(3, rand=lambda: 1.0) == 4.0
    assert policy.key_backoff(3, retry_after=9) == 9


def test_parse_retry_after() -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now) == 10
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("  ") is None


async def test_transient_failures_retry_with_jittered_exponential_sleeps() -> None:
    rig = make_rig(
        [httpx.Response(502)] * 4 + [ok("1")],
        policy=RetryPolicy(max_attempts=5),
        rand=lambda: 0.5,
    )
    result = await rig.call()
    assert result.payload == "1"
    assert rig.clock.sleeps == [0.5, 1.0, 2.0, 4.0]  # half of 1, 2, 4, 8


async def test_gives_up_after_max_attempts() -> None:
    rig = make_rig([httpx.Response(500)], policy=RetryPolicy(max_attempts=3))
    with pytest.raises(UpstreamUnavailable, match="gave up after 3"):
        await rig.call()
    assert len(rig.script.requests) == 3
    assert len(rig.clock.sleeps) == 2  # no sleep after the last attempt


async def test_retry_after_header_is_honoured_and_capped() -> None:
    replies: list[Reply] = [
        httpx.Response(503, headers={"Retry-After": "17"}),
        httpx.Response(503, headers={"Retry-After": "100000"}),
        ok("1"),
    ]
    rig = make_rig(replies, policy=RetryPolicy(retry_after_cap_seconds=90))
    await rig.call()
    assert rig.clock.sleeps == [17, 90]


async def test_connection_errors_and_timeouts_are_transient() -> None:
    replies: list[Reply] = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok("1")]
    rig = make_rig(replies)
    assert (await rig.call()).payload == "1"
    assert rig.ledger.calls[(rig.keys.keys[0].key_id, "stats/x", Outcome.TRANSIENT)] == 2


async def test_breaker_opens_after_failures_then_recovers_half_open() -> None:
    breakers = Breakers(BreakerPolicy(fail_max=3, reset_seconds=0.05))
    replies = [httpx.Response(500)] * 3 + [ok("1")]
    rig = make_rig(replies, policy=RetryPolicy(max_attempts=10))
    rig.gateway.breakers = breakers
    with pytest.raises(CircuitOpen):
        await rig.call()
    assert len(rig.script.requests) == 3
    assert breakers.state("etherscan stats/x") == "open"
    with pytest.raises(CircuitOpen):  # no request while open
        await rig.call()
    assert len(rig.script.requests) == 3
    # Another endpoint of the same provider is unaffected.
    assert breakers.state("etherscan other") == "closed"
    await asyncio.sleep(0.06)  # aiobreaker reads the real clock
    assert breakers.state("etherscan stats/x") == "half_open"
    result = await rig.call()
    assert result.payload == "1"
    [state] = breakers.states()
    assert (state.name, state.state, state.failures) == ("etherscan stats/x", "closed", 0)


async def test_failed_trial_call_reopens_the_breaker() -> None:
    breakers = Breakers(BreakerPolicy(fail_max=1, reset_seconds=0.05))
    rig = make_rig([httpx.Response(500)])
    rig.gateway.breakers = breakers
    with pytest.raises(CircuitOpen):
        await rig.call()
    await asyncio.sleep(0.06)
    with pytest.raises(CircuitOpen):
        await rig.call()
    assert len(rig.script.requests) == 2  # the trial call went out, failed, reopened
    assert breakers.state("etherscan stats/x") == "open"


async def test_rate_limits_and_refusals_do_not_open_the_breaker() -> None:
    breakers = Breakers(BreakerPolicy(fail_max=1))
    rig = make_rig([notok("Query Timeout occured. Please select a smaller result dataset")])
    rig.gateway.breakers = breakers
    for _ in range(3):
        with pytest.raises(RangeTooLarge, match="Query Timeout"):
            await rig.call()
    assert breakers.state("etherscan stats/x") == "closed"
