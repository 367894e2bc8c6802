"""API keys, plans and the limits the real services apply to them.

Etherscan plans follow upstreams.md §1.2: calls per second, calls per day, whether PRO endpoints
are open, whether every chain is covered, and the records-per-call cap (1,000 on Free since
2026-07-01). Keys of one ``account`` share their buckets, as Etherscan's Free limits are per
account. Windows are sliding and measured on the *real* clock: a call is admitted when fewer
than ``per_second`` admitted calls of its bucket fall in the last second.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    per_second: int
    per_day: int
    pro: bool  # PRO endpoints (tokenholdercount, tokenholderlist, tokeninfo)
    all_chains: bool  # False: the Free tier's "selected chains only"
    max_records: int  # records per call


PLANS: dict[str, Plan] = {
    plan.name: plan
    for plan in (
        Plan("free", 3, 100_000, False, False, 1_000),
        Plan("lite", 5, 100_000, False, True, 10_000),
        Plan("standard", 10, 200_000, True, True, 10_000),
        Plan("advanced", 20, 500_000, True, True, 10_000),
        Plan("professional", 30, 1_000_000, True, True, 10_000),
        Plan("pro-plus", 30, 1_500_000, True, True, 10_000),
    )
}
# Chains a Free key may not query on Etherscan V2 (upstreams.md §1.3).
FREE_TIER_PAID_CHAINS = frozenset({10, 56, 8453, 43114})


@dataclass(frozen=True, slots=True)
class KeySpec:
    plan: Plan
    label: str
    account: str
    paid_chains: frozenset[int]  # chains this key is refused on with the paid-plan text

    @classmethod
    def make(
        cls,
        plan: str | Plan = "free",
        *,
        label: str = "",
        account: str = "",
        paid_chains: frozenset[int] | list[int] | None = None,
        per_second: int | None = None,
        per_day: int | None = None,
    ) -> KeySpec:
        base = PLANS[plan] if isinstance(plan, str) else plan
        if per_second is not None or per_day is not None:
            base = replace(
                base,
                per_second=base.per_second if per_second is None else per_second,
                per_day=base.per_day if per_day is None else per_day,
            )
        if paid_chains is None:
            gated = frozenset() if base.all_chains else FREE_TIER_PAID_CHAINS
        else:
            gated = frozenset(paid_chains)
        return cls(base, label or base.name, account, gated)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeySpec:
        """From the admin API: {"plan", "label", "account", "paidChains", "perSecond", "perDay"}."""
        plan = str(data.get("plan", "free"))
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r} (expected one of {', '.join(PLANS)})")
        paid = data.get("paidChains")
        return cls.make(
            plan,
            label=str(data.get("label", "")),
            account=str(data.get("account", "")),
            paid_chains=None if paid is None else frozenset(int(c) for c in paid),
            per_second=_opt_int(data.get("perSecond")),
            per_day=_opt_int(data.get("perDay")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan.name,
            "label": self.label,
            "account": self.account,
            "perSecond": self.plan.per_second,
            "perDay": self.plan.per_day,
            "pro": self.plan.pro,
            "maxRecords": self.plan.max_records,
            "paidChains": sorted(self.paid_chains),
        }


def default_keys() -> dict[str, KeySpec]:
    """Keys every simulator accepts unless told otherwise (none is a real credential).

    The demo key is a Free key (3/s, 1,000 records, no PRO) whose account covers every chain,
    so the demo shows all ten; ``test-free-key`` has the real Free chain gating.
    """
    return {
        "demo-free-key": KeySpec.make("free", label="demo-free", paid_chains=[]),
        "test-free-key": KeySpec.make("free", label="test-free"),
        "test-lite-key": KeySpec.make("lite", label="test-lite"),
        "test-standard-key": KeySpec.make("standard", label="test-standard"),
        "test-pro-key": KeySpec.make("professional", label="test-pro"),
        "test-etherscan-key-1": KeySpec.make("standard", label="test-etherscan-1"),
        "test-etherscan-key-2": KeySpec.make("standard", label="test-etherscan-2"),
        "test-cronos-key-1": KeySpec.make("standard", label="test-cronos-1"),
    }


def fingerprint(key: str | None) -> str:
    """What the call log stores instead of a key: a short sha256 prefix."""
    return "-" if not key else hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(slots=True)
class Limiter:
    """Sliding windows and daily counters, keyed by bucket name."""

    wall: Callable[[], float]
    _windows: dict[str, deque[float]] = field(default_factory=dict)
    _days: dict[str, tuple[int, int]] = field(default_factory=dict)

    def window(self, bucket: str, limit: int, seconds: float = 1.0) -> float | None:
        """Admit (None) or refuse with the seconds until a slot frees up."""
        now = self.wall()
        calls = self._windows.setdefault(bucket, deque())
        while calls and calls[0] <= now - seconds:
            calls.popleft()
        if len(calls) >= limit:
            return max(0.0, calls[0] + seconds - now)
        calls.append(now)
        return None

    def daily(self, bucket: str, limit: int) -> bool:
        """Count one call against the UTC day; False once the quota is used up."""
        day = int(self.wall() // 86_400)
        seen_day, used = self._days.get(bucket, (day, 0))
        used = used if seen_day == day else 0
        if used >= limit:
            return False
        self._days[bucket] = (day, used + 1)
        return True

    def used_today(self, bucket: str) -> int:
        day, used = self._days.get(bucket, (0, 0))
        return used if day == int(self.wall() // 86_400) else 0

    def reset(self) -> None:
        self._windows.clear()
        self._days.clear()


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return value
