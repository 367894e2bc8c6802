"""The price API's answer (REST ``/api/token-price`` and ``/api/price``), from a PriceView.

Legacy fields first (legacy-api.md §6: ``available, priceUsd, priceUsdRaw, source, timestamp``
in ms, ``proRequired, message``), then what the legacy lacked: ``stale`` and ``ageSeconds``,
``best`` (the consensus and the sources it is made of) and ``sources[]`` (per source: price,
age, score, breaker state, last outcome, and why it was left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from app.prices.consensus import BestPrice, PriceView, SourceHealth


def source_breakers(breakers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{source: state} from (breaker name, state) pairs, ``price:<source> <endpoint>`` only;
    the worst state wins if a source has several endpoints."""
    rank = {"closed": 0, "half_open": 1, "open": 2}
    found: dict[str, str] = {}
    for name, state in breakers:
        head = name.split(" ", 1)[0]
        if not head.startswith("price:"):
            continue
        source = head.removeprefix("price:")
        if rank.get(state, 0) >= rank.get(found.get(source, "closed"), 0):
            found[source] = state
    return found


def label(best: BestPrice) -> str:
    """The legacy ``source``: one source's name, or ``consensus`` of several."""
    return best.sources[0] if len(best.sources) == 1 else "consensus"


def message(view: PriceView) -> str:
    best = view.best
    if best is None:
        return "No price source has answered yet"
    left_out = [s for s in view.sources if s.excluded and s.excluded != "no_price"]
    text = f"Consensus of {len(best.sources)} source(s): {', '.join(best.sources)}"
    if best.stale:
        age = f"{best.age_seconds:.0f} s old"
        text = f"Every source is failing or stale: last-known-good price, {age} ({text})"
    if left_out:
        text += "; excluded: " + ", ".join(f"{s.source} ({s.excluded})" for s in left_out)
    return text


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def payload(view: PriceView) -> dict[str, Any]:
    """The REST answer (JSON-ready)."""
    best = view.best
    return {
        "available": best is not None,
        "priceUsd": float(best.price_usd) if best else None,
        "priceUsdRaw": str(best.price_usd) if best else None,
        "source": label(best) if best else None,
        "timestamp": millis(best.observed_at) if best else None,
        "proRequired": False,
        "message": message(view),
        "stale": best.stale if best else True,
        "ageSeconds": round(best.age_seconds, 3) if best else None,
        "best": _best(best) if best else None,
        "sources": [_source(s) for s in view.sources],
    }


def _best(best: BestPrice) -> dict[str, Any]:
    return {
        "priceUsd": float(best.price_usd),
        "priceUsdRaw": str(best.price_usd),
        "sources": list(best.sources),
        "timestamp": millis(best.observed_at),
        "ageSeconds": round(best.age_seconds, 3),
        "stale": best.stale,
    }


def _source(s: SourceHealth) -> dict[str, Any]:
    return {
        "source": s.source,
        "priceUsd": float(s.price_usd) if s.price_usd is not None else None,
        "priceUsdRaw": str(s.price_usd) if s.price_usd is not None else None,
        "timestamp": millis(s.observed_at) if s.observed_at else None,
        "ageSeconds": round(s.age_seconds, 3) if s.age_seconds is not None else None,
        "fresh": s.fresh,
        "score": s.score,
        "successRate": s.success_rate,
        "latencyMs": s.latency_ms,
        "deviation": s.deviation,
        "breaker": s.breaker,
        "lastOutcome": s.last_outcome,
        "lastDetail": s.last_detail,
        "lastAt": millis(s.last_at) if s.last_at else None,
        "used": s.used,
        "excluded": s.excluded,
    }
