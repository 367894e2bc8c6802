"""Parse the price sources' answers (upstreams.md §4); pure functions, no I/O.

Each parser returns a :class:`Quote` or raises :class:`InvalidQuote`: a number that is not a
number (a string where a number belongs, NaN, infinite), a price that is zero, negative or
absurd, or an answer about another asset (another id, another contract) is refused here, so
upstream garbage is counted as ``invalid`` and never stored as a price.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_PRICE = Decimal("1e12")  # USD; anything above is an upstream bug, not a token price


class InvalidQuote(ValueError):
    """The answer holds no usable price for our token."""


@dataclass(frozen=True, slots=True)
class Quote:
    price_usd: Decimal
    quoted_at: datetime | None = None  # the source's own "last updated"
    liquidity_usd: float | None = None  # DexScreener: the liquidity of the pairs used
    pairs: int = 0  # DexScreener: how many of the token's pairs were used
    rejected_pairs: int = 0  # DexScreener: the token's pairs refused (bad price, no liquidity)


def price(value: object, *, strings: bool = False) -> Decimal:
    """A positive, finite USD price; ``strings`` accepts decimal strings (DexScreener)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidQuote(f"price is not a number: {value!r:.40}")
    if isinstance(value, str) and not strings:
        raise InvalidQuote(f"price is a string, not a number: {value!r:.40}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidQuote(f"price is not finite: {value!r}")
    try:
        found = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidQuote(f"price is not a number: {value!r:.40}") from None
    if not found.is_finite():
        raise InvalidQuote(f"price is not finite: {value!r:.40}")
    if found <= 0:
        raise InvalidQuote(f"price is not positive: {found}")
    if found > MAX_PRICE:
        raise InvalidQuote(f"price is absurd: {found}")
    return found


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidQuote(f"{what} is not an object")
    return value


def _unix(value: object) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**33:
        return datetime.fromtimestamp(value, UTC)
    return None


def _iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def coingecko(body: object, coin_id: str) -> Quote:
    """``/simple/price?ids=<coin_id>&vs_currencies=usd&include_last_updated_at=true``."""
    entries = _object(body, "answer")
    if coin_id not in entries:
        raise InvalidQuote(f"no entry for {coin_id!r} (wrong or unknown coin)")
    entry = _object(entries[coin_id], "entry")
    return Quote(price(entry.get("usd")), quoted_at=_unix(entry.get("last_updated_at")))


def coinmarketcap(body: object, cmc_id: int) -> Quote:
    """``/v2/cryptocurrency/quotes/latest?id=<cmc_id>&convert=USD``; errors checked first."""
    answer = _object(body, "answer")
    status = answer.get("status")
    if isinstance(status, Mapping) and status.get("error_code") not in (0, "0", None):
        raise InvalidQuote(f"error {status.get('error_code')}: {status.get('error_message')}")
    data = _object(answer.get("data"), "data")
    entry = _object(data.get(str(cmc_id)), f"data[{cmc_id}]")
    if entry.get("id") != cmc_id:
        raise InvalidQuote(f"entry is for id {entry.get('id')!r}, not {cmc_id}")
    usd = _object(_object(entry.get("quote"), "quote").get("USD"), "quote.USD")
    return Quote(price(usd.get("price")), quoted_at=_iso(usd.get("last_updated")))


def coinpaprika(body: object, coin_id: str) -> Quote:
    """``/v1/tickers/<coin_id>``."""
    ticker = _object(body, "answer")
    if ticker.get("id") != coin_id:
        raise InvalidQuote(f"ticker is for {ticker.get('id')!r:.40}, not {coin_id!r}")
    usd = _object(_object(ticker.get("quotes"), "quotes").get("USD"), "quotes.USD")
    return Quote(price(usd.get("price")), quoted_at=_iso(ticker.get("last_updated")))


def dexscreener(body: object, tokens: Collection[str]) -> Quote:
    """``/latest/dex/tokens/<addresses>``: the liquidity-weighted median of the pairs whose
    *base* token is one of ours (``tokens``, lower case). Pairs of other tokens, pairs where
    our token is only the quote (their priceUsd is the other token's) and impostors with our
    symbol are left out; a pair with a bad price or no liquidity is counted and skipped."""
    answer = _object(body, "answer")
    pairs = answer.get("pairs")
    if pairs is None:
        raise InvalidQuote("no pairs (token not indexed)")
    if not isinstance(pairs, list):
        raise InvalidQuote("pairs is not a list")
    ours = [p for p in pairs if isinstance(p, Mapping) and _base(p) in tokens]
    usable: list[tuple[Decimal, float]] = []
    for pair in ours:
        try:
            usable.append((price(pair.get("priceUsd"), strings=True), _liquidity(pair)))
        except InvalidQuote:
            continue
    if not usable:
        raise InvalidQuote(f"none of the token's {len(ours)} pair(s) has a usable price")
    liquidity = sum(weight for _, weight in usable)
    return Quote(
        weighted_median(usable),
        liquidity_usd=liquidity,
        pairs=len(usable),
        rejected_pairs=len(ours) - len(usable),
    )


def _base(pair: Mapping[str, Any]) -> str | None:
    base = pair.get("baseToken")
    address = base.get("address") if isinstance(base, Mapping) else None
    return address.lower() if isinstance(address, str) else None


def _liquidity(pair: Mapping[str, Any]) -> float:
    found = pair.get("liquidity")
    usd = found.get("usd") if isinstance(found, Mapping) else None
    if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd):
        raise InvalidQuote("pair without liquidity")
    if usd <= 0:
        raise InvalidQuote("pair without liquidity")
    return float(usd)


def weighted_median(values: list[tuple[Decimal, float]]) -> Decimal:
    """The value where the cumulative weight (sorted by value) first reaches half."""
    ordered = sorted(values)
    half = sum(weight for _, weight in ordered) / 2
    running = 0.0
    for value, weight in ordered:
        running += weight
        if running >= half:
            return value
    return ordered[-1][0]
