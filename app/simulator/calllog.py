"""Every call the simulator answered, and the busiest one-second window per key and endpoint.

Keys are stored as a sha256 prefix (``limits.fingerprint``) plus the key's label, never raw.
A "1-second window" is half-open, ``[t, t + 1)``: the maximum is the largest number of calls
whose timestamps lie less than a second apart, which is what a rate limiter of N/s must keep
at or below N for the calls it admits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

REFUSED = frozenset({"rate_limited", "invalid_key", "missing_key", "quota_exceeded"})


@dataclass(frozen=True, slots=True)
class Call:
    ts: float  # real unix time the call was admitted (limits checked), before its answer
    service: str  # etherscan | cronos | rpc | coingecko | coinmarketcap | dexscreener | coinpaprika
    endpoint: str  # e.g. "logs/getLogs", "eth_getLogs", "simple/price"
    chain_id: int | None
    key: str  # fingerprint, "-" when none was sent
    label: str  # the key's label, "unknown" or "none"
    outcome: str  # ok | empty | error | rate_limited | invalid_key | ... | fault:<kind>
    status: int  # HTTP status

    @property
    def admitted(self) -> bool:
        return self.outcome not in REFUSED

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["chainId"] = data.pop("chain_id")
        return data


class CallLog:
    def __init__(self, limit: int = 1_000_000) -> None:
        self._calls: list[Call] = []
        self._limit = limit

    def record(self, call: Call) -> None:
        if len(self._calls) >= self._limit:
            del self._calls[: self._limit // 10]  # keep memory bounded on week-long demos
        self._calls.append(call)

    def clear(self) -> None:
        self._calls.clear()

    def calls(self, service: str | None = None, since: float | None = None) -> list[Call]:
        return [
            call
            for call in self._calls
            if (service is None or call.service == service) and (since is None or call.ts >= since)
        ]

    def max_per_second(
        self,
        group: Callable[[Call], str],
        *,
        service: str | None = None,
        admitted_only: bool = False,
    ) -> dict[str, int]:
        buckets: dict[str, list[float]] = defaultdict(list)
        for call in self.calls(service):
            if not admitted_only or call.admitted:
                buckets[group(call)].append(call.ts)
        return {name: max_in_window(times) for name, times in sorted(buckets.items())}

    def summary(self, service: str | None = None) -> dict[str, Any]:
        """The `/_sim/calls` figures: counts and per-second maxima per key and per endpoint."""

        def by_key(call: Call) -> str:
            return call.key

        def by_endpoint(call: Call) -> str:
            return f"{call.service}:{call.endpoint}"

        calls = self.calls(service)
        labels = {call.key: call.label for call in calls}
        return {
            "count": len(calls),
            "labels": labels,
            "maxPerSecond": {
                "byKey": self.max_per_second(by_key, service=service),
                "byEndpoint": self.max_per_second(by_endpoint, service=service),
                "admittedByKey": self.max_per_second(by_key, service=service, admitted_only=True),
            },
        }


def max_in_window(times: Iterable[float], width: float = 1.0) -> int:
    """The most timestamps inside any half-open window ``[t, t + width)``."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, ts in enumerate(ordered):
        while ts - ordered[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best
