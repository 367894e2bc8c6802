"""Errors raised by the upstream access layer, after classification and retries.

    TokenpulseError (app.errors)
    └── UpstreamError            code=upstream_error            (502)
        ├── RateLimited          code=upstream_rate_limited     still limited after retries
        ├── QuotaExhausted       code=upstream_quota_exhausted  every key used up for today
        ├── UpstreamRefused      code=upstream_refused          permanent: bad key, paid chain,
        │   │                                                   PRO endpoint, bad chainid
        │   └── NotOnPlan        code=upstream_not_on_plan      the key's plan lacks this endpoint
        │                                                       or chain (PRO, paid chain)
        ├── RangeTooLarge        code=upstream_range_too_large  split the range and ask again
        └── UpstreamUnavailable  code=upstream_unavailable      (503) transient after retries
            └── CircuitOpen      code=upstream_circuit_open     (503) breaker open, no call

They live here rather than in app/errors.py because only ingestion ever sees them (the API
layers cannot reach an upstream); moving them there is a one-line import change.
Messages are built from redacted text only (see app.upstreams._redact): never a URL, never a key.
"""

from __future__ import annotations

import re

from app.errors import TokenpulseError


class UpstreamError(TokenpulseError):
    """The upstream call failed."""

    code = "upstream_error"
    status = 502

    def __init__(
        self, message: str | None = None, *, provider: str = "", endpoint: str = ""
    ) -> None:
        self.provider = provider
        self.endpoint = endpoint
        where = " ".join(part for part in (provider, endpoint) if part)
        text = message or (self.__doc__ or self.code).strip()
        super().__init__(f"{where}: {text}" if where else text)


class RateLimited(UpstreamError):
    """The upstream kept rate-limiting every key."""

    code = "upstream_rate_limited"


class QuotaExhausted(UpstreamError):
    """Every key has used its daily quota."""

    code = "upstream_quota_exhausted"


class UpstreamRefused(UpstreamError):
    """The upstream refused the request permanently; retrying cannot help."""

    code = "upstream_refused"


class NotOnPlan(UpstreamRefused):
    """The key's plan does not include this endpoint or chain (a PRO endpoint, a paid chain)."""

    code = "upstream_not_on_plan"


_PLAN_REFUSAL = re.compile(
    r"api pro endpoint|upgrade to api pro|free api access is not supported", re.IGNORECASE
)


def refused(reason: str, *, provider: str = "", endpoint: str = "") -> UpstreamRefused:
    """The refusal error for ``reason``: NotOnPlan when the plan is what stands in the way, so
    callers can tell "not available to us" from "broken" without reading the sentence."""
    kind = NotOnPlan if _PLAN_REFUSAL.search(reason) else UpstreamRefused
    return kind(reason, provider=provider, endpoint=endpoint)


class RangeTooLarge(UpstreamError):
    """The requested block range or result window is too large; split it."""

    code = "upstream_range_too_large"

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str = "",
        endpoint: str = "",
        suggested: tuple[int, int] | None = None,
        max_span: int | None = None,
    ) -> None:
        # `suggested` is the provider's own hint (inclusive block range that should work);
        # `max_span` a block-count limit read from the message. Both may be None: bisect.
        self.suggested = suggested
        self.max_span = max_span
        super().__init__(message, provider=provider, endpoint=endpoint)


class UpstreamUnavailable(UpstreamError):
    """The upstream kept failing (server errors, timeouts, malformed responses)."""

    code = "upstream_unavailable"
    status = 503


class CircuitOpen(UpstreamUnavailable):
    """The circuit breaker for this endpoint is open; no call was made."""

    code = "upstream_circuit_open"
    result: object = None  # the failed result whose failure opened it, when there was one
