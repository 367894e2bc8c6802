"""Scheduled misbehaviour: which fault hits which calls, and for how long.

A fault names a ``kind`` and a scope (``service``, optional ``endpoint`` and ``chainId``), lasts
``duration`` real seconds (or until removed), fires with ``probability`` (seeded, so a run is
repeatable) and optionally only ``count`` times. What each kind does to a response is applied
by ``app.simulator.pipeline``; this module only decides who is hit.

Kinds: outage (HTTP 503), latency (``ms`` extra), timeout (hang ``seconds`` then 504),
rate_limit_storm (the service's own rate-limit answer), malformed_json, wrong_types,
truncated_page, wrong_price (``factor``, price services), query_timeout (Etherscan's text),
http_error (``status``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "outage",
        "latency",
        "timeout",
        "rate_limit_storm",
        "malformed_json",
        "wrong_types",
        "truncated_page",
        "wrong_price",
        "query_timeout",
        "http_error",
    }
)
SERVICES = frozenset(
    {"*", "etherscan", "cronos", "rpc", "coingecko", "coinmarketcap", "dexscreener", "coinpaprika"}
)


@dataclass(slots=True)
class Fault:
    id: int
    kind: str
    service: str = "*"
    endpoint: str | None = None
    chain_id: int | None = None
    until: float | None = None  # real unix time; None: until removed
    probability: float = 1.0
    remaining: int | None = None  # None: unlimited
    params: dict[str, Any] = field(default_factory=dict)

    def covers(self, service: str, endpoint: str, chain_id: int | None, now: float) -> bool:
        return (
            (self.until is None or now < self.until)
            and (self.remaining is None or self.remaining > 0)
            and self.service in ("*", service)
            and (self.endpoint is None or self.endpoint == endpoint)
            and (self.chain_id is None or self.chain_id == chain_id)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "service": self.service,
            "endpoint": self.endpoint,
            "chainId": self.chain_id,
            "until": self.until,
            "probability": self.probability,
            "remaining": self.remaining,
            "params": self.params,
        }


class Faults:
    def __init__(self, wall: Callable[[], float], seed: int = 0) -> None:
        self._wall = wall
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)
        self._rng = random.Random(f"{seed}:faults")

    def add(
        self,
        kind: str,
        *,
        service: str = "*",
        endpoint: str | None = None,
        chain_id: int | None = None,
        duration: float | None = None,
        probability: float = 1.0,
        count: int | None = None,
        **params: Any,
    ) -> Fault:
        """Schedule a fault from now; raises ValueError on an unknown kind or service."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (expected one of {sorted(KINDS)})")
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r} (expected one of {sorted(SERVICES)})")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        until = None if duration is None else self._wall() + float(duration)
        fault = Fault(next(self._ids), kind, service, endpoint, chain_id, until, probability, count)
        fault.params = dict(params)
        self._faults[fault.id] = fault
        return fault

    def add_spec(self, spec: Mapping[str, Any]) -> Fault:
        """From the admin API's JSON (see docs/simulator.md, "Fault spec")."""
        if not isinstance(spec, Mapping) or "kind" not in spec:
            raise ValueError("a fault spec is an object with at least a 'kind'")
        known = {"kind", "service", "endpoint", "chainId", "duration", "probability", "count"}
        params = dict(spec.get("params") or {})
        params.update({k: v for k, v in spec.items() if k not in known | {"params"}})
        chain = spec.get("chainId")
        duration, count = spec.get("duration"), spec.get("count")
        return self.add(
            str(spec["kind"]),
            service=str(spec.get("service", "*")),
            endpoint=None if spec.get("endpoint") is None else str(spec["endpoint"]),
            chain_id=None if chain is None else int(chain),
            duration=None if duration is None else float(duration),
            probability=float(spec.get("probability", 1.0)),
            count=None if count is None else int(count),
            **params,
        )

    def remove(self, fault_id: int) -> bool:
        return self._faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        self._faults.clear()

    def active(self) -> list[Fault]:
        now = self._wall()
        return [f for f in self._faults.values() if f.until is None or now < f.until]

    def hits(self, service: str, endpoint: str, chain_id: int | None) -> list[Fault]:
        """The faults that fire on this call (each consumes one of its ``count``)."""
        now = self._wall()
        fired = []
        for fault in list(self._faults.values()):
            if not fault.covers(service, endpoint, chain_id, now):
                continue
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            fired.append(fault)
        return fired
