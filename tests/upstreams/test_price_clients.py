"""Price source clients and parsers: garbage refused as invalid, retries on transient
failures only, a 429 rests the source, breakers per source (opening on the failure that
trips them), redacted details; Etherscan breakers per chain; transitions counted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from app.upstreams import price_parse
from app.upstreams import prices as clients
from app.upstreams._budget import Priority
from app.upstreams._classify import classify_envelope
from app.upstreams._resilience import BreakerPolicy, Breakers
from app.upstreams.price_parse import InvalidQuote
from tests.upstreams.helpers import make_rig, ok

TOKEN = "0x85cb098bdcd3ca929d2cd18fc7a2669ff0362242"
OTHER = "0x" + "ab" * 20
KEY = "cmc-secret-key-123456"


@pytest.mark.parametrize(
    "value", ["0.12", True, None, float("nan"), float("inf"), -1, 0, 1e13, [1], {"x": 1}]
)
def test_bad_numbers_are_refused(value: object) -> None:
    with pytest.raises(InvalidQuote):
        price_parse.price(value)


def test_good_numbers() -> None:
    assert price_parse.price(0.1234) == Decimal("0.1234")
    assert price_parse.price(3) == Decimal(3)
    assert price_parse.price("0.1234", strings=True) == Decimal("0.1234")
    with pytest.raises(InvalidQuote):
        price_parse.price("NaN", strings=True)
    with pytest.raises(InvalidQuote):
        price_parse.price("abc", strings=True)


def test_wrong_coin_or_error_envelope_is_invalid() -> None:
    with pytest.raises(InvalidQuote, match="no entry"):
        price_parse.coingecko({"bitcoin": {"usd": 1.0}}, "bazaars")
    quote = price_parse.coingecko(
        {"bazaars": {"usd": 0.12, "last_updated_at": 1_780_000_000}}, "bazaars"
    )
    assert quote.price_usd == Decimal("0.12")
    assert quote.quoted_at is not None
    with pytest.raises(InvalidQuote, match="1008"):
        price_parse.coinmarketcap(
            {"status": {"error_code": 1008, "error_message": "slow down"}}, 29452
        )
    with pytest.raises(InvalidQuote, match="not 29452"):
        price_parse.coinmarketcap(
            {
                "status": {"error_code": 0},
                "data": {"29452": {"id": 1, "quote": {"USD": {"price": 1.0}}}},
            },
            29452,
        )
    with pytest.raises(InvalidQuote, match="not 'bzr-bazaars'"):
        price_parse.coinpaprika(
            {"id": "btc-bitcoin", "quotes": {"USD": {"price": 1.0}}}, "bzr-bazaars"
        )


def pair(base: str, price: object, liquidity: object) -> dict[str, object]:
    return {"baseToken": {"address": base}, "priceUsd": price, "liquidity": {"usd": liquidity}}


def test_dexscreener_uses_our_pairs_weighted_by_liquidity() -> None:
    body = {
        "pairs": [
            pair(TOKEN.upper().replace("0X", "0x"), "0.10", 100.0),
            pair(TOKEN, "0.20", 1000.0),
            pair(TOKEN, "0.11", 50.0),
            pair(OTHER, "0.0004", 1e9),  # an impostor with more liquidity
            {"baseToken": {"address": OTHER}, "quoteToken": {"address": TOKEN}, "priceUsd": "3900"},
            pair(TOKEN, "NaN", 10.0),  # ours, unusable
            pair(TOKEN, "0.3", None),  # ours, no liquidity
        ]
    }
    quote = price_parse.dexscreener(body, {TOKEN})
    assert quote.price_usd == Decimal("0.20")  # most of the liquidity
    assert quote.liquidity_usd == 1150.0
    assert (quote.pairs, quote.rejected_pairs) == (3, 2)
    with pytest.raises(InvalidQuote, match="not indexed"):
        price_parse.dexscreener({"pairs": None}, {TOKEN})
    with pytest.raises(InvalidQuote, match="none of"):
        price_parse.dexscreener({"pairs": [pair(OTHER, "1", 5.0)]}, {TOKEN})


Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, breakers: Breakers | None = None, **kw: object) -> clients.PriceClient:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    source = clients.coinmarketcap("https://cmc.test", 29452, KEY)
    made = clients.PriceClient(
        http, [source], breakers or Breakers(BreakerPolicy(fail_max=100)), sleep=sleep,
        secrets=(KEY,), **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    made.sleeps = sleeps  # type: ignore[attr-defined]
    return made


CMC_OK = {
    "status": {"error_code": 0},
    "data": {
        "29452": {
            "id": 29452,
            "quote": {"USD": {"price": 0.1234, "last_updated": "2026-06-01T00:00:00Z"}},
        }
    },
}


async def test_ok_sends_the_key_in_a_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=CMC_OK)

    [result] = await client(handler).poll()
    assert (result.outcome, result.ok) == ("ok", True)
    assert result.quote is not None
    assert result.quote.price_usd == Decimal("0.1234")
    assert seen[0].headers["x-cmc_pro_api_key"] == KEY
    assert KEY not in str(seen[0].url)
    assert seen[0].url.params["id"] == "29452"


async def test_transient_failures_are_retried_then_reported() -> None:
    replies = iter([httpx.Response(502), httpx.Response(200, json=CMC_OK)])
    made = client(lambda r: next(replies), max_attempts=2)
    [result] = await made.poll()
    assert result.outcome == "ok"
    assert len(made.sleeps) == 1  # type: ignore[attr-defined]

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out {KEY}", request=request)

    made = client(timeout, max_attempts=3)
    [result] = await made.poll()
    assert (result.outcome, result.ok) == ("timeout", False)
    assert len(made.sleeps) == 2  # type: ignore[attr-defined]
    assert result.detail is not None
    assert KEY not in result.detail


async def test_garbage_and_4xx_are_not_retried() -> None:
    calls: list[int] = []

    def garbage(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(
            200,
            json={
                "status": {"error_code": 0},
                "data": {"29452": {"id": 29452, "quote": {"USD": {"price": "0.12"}}}},
            },
        )

    [result] = await client(garbage, max_attempts=3).poll()
    assert (result.outcome, len(calls)) == ("invalid", 1)
    assert result.detail is not None
    assert "string" in result.detail
    [result] = await client(
        lambda r: httpx.Response(200, content=b"{not json"), max_attempts=3
    ).poll()
    assert result.outcome == "invalid"
    [result] = await client(
        lambda r: httpx.Response(401, json={"status": {"error_code": 1001}}), max_attempts=3
    ).poll()
    assert (result.outcome, result.detail is not None) == ("http_error", True)


async def test_429_rests_the_source_until_retry_after() -> None:
    calls: list[int] = []
    now = [100.0]

    def limited(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "30"})

    made = client(limited, max_attempts=3, clock=lambda: now[0])
    [first] = await made.poll()
    assert (first.outcome, len(calls)) == ("rate_limited", 1)  # not retried
    now[0] += 10
    [second] = await made.poll()
    assert (second.outcome, len(calls)) == ("rate_limited", 1)  # resting: no request
    now[0] += 25
    await made.poll()
    assert len(calls) == 2


async def test_breaker_opens_on_the_failure_that_trips_it(caplog: pytest.LogCaptureFixture) -> None:
    breakers = Breakers(BreakerPolicy(fail_max=2, reset_seconds=60))
    calls: list[int] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503)

    made = client(down, breakers, max_attempts=5)
    with caplog.at_level(logging.INFO, logger="app.upstreams._resilience"):
        [result] = await made.poll()
    # Two requests, the second opened the breaker: its own outcome is kept, no third request.
    assert (result.outcome, len(calls)) == ("http_error", 2)
    name = "price:coinmarketcap v2/cryptocurrency/quotes/latest"
    assert breakers.state(name) == "open"
    [result] = await made.poll()
    assert (result.outcome, len(calls)) == ("breaker_open", 2)
    [state] = breakers.states()
    assert (state.provider, state.transitions, state.opened_at is not None) == ("price", 1, True)
    [moved] = breakers.drain_transitions()
    assert (moved.name, moved.from_state, moved.to_state) == (name, "closed", "open")
    assert breakers.drain_transitions() == []
    assert any(r.getMessage() == "circuit breaker open" for r in caplog.records)


async def test_etherscan_breakers_are_per_chain() -> None:
    rig = make_rig(
        [httpx.Response(500), ok("1")], breaker=BreakerPolicy(fail_max=1, reset_seconds=60)
    )
    http = rig.gateway.http

    def build(key: object) -> httpx.Request:
        return http.build_request("GET", "https://api.test/v2/api")

    with pytest.raises(Exception, match="circuit breaker open"):
        await rig.gateway.call("logs/getLogs", build, classify_envelope, Priority.TIP, scope="137")
    assert rig.gateway.breakers.state("etherscan:137 logs/getLogs") == "open"
    assert rig.gateway.breakers.state("etherscan:1 logs/getLogs") == "closed"
    result = await rig.gateway.call(
        "logs/getLogs", build, classify_envelope, Priority.TIP, scope="1"
    )
    assert result.payload == "1"
    names = {s.name: s for s in rig.gateway.breakers.states()}
    assert set(names) == {"etherscan:137 logs/getLogs", "etherscan:1 logs/getLogs"}
    assert names["etherscan:137 logs/getLogs"].provider == "etherscan"


def test_requeued_transitions_come_back_first() -> None:
    breakers = Breakers(BreakerPolicy(fail_max=1, reset_seconds=60))
    breakers._record("a x", "closed", "open")
    first = breakers.drain_transitions()
    breakers._record("b x", "closed", "open")
    breakers.requeue(first)  # the publish of ``first`` failed
    assert [t.name for t in breakers.drain_transitions()] == ["a x", "b x"]
    assert breakers.transitions("a x") == 1
