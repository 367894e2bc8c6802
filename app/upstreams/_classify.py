"""Classify every upstream answer into one :class:`Outcome`; pure functions, no I/O.

Etherscan-style APIs report errors as HTTP 200 with ``status:"0"`` and a human sentence, and
JSON-RPC nodes as an error object whose code is not specific enough (-32000, -32602 mean many
things), so classification is mostly by text: an ordered table of patterns from
upstreams.md §1.5 and §3.2 and legacy-api.md §3.2. Order matters: "Max daily rate limit
reached" contains "rate limit", and "Too many invalid api key attempts" contains "invalid api
key", so the more specific rule comes first.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from app.upstreams._redact import redact
from app.upstreams._resilience import parse_retry_after


class Outcome(enum.StrEnum):
    OK = "ok"
    EMPTY = "empty"  # a valid "nothing here" answer
    RATE_LIMITED = "rate_limited"  # back this key off, try again later or with another key
    QUOTA_EXHAUSTED = "quota_exhausted"  # this key is done until the daily reset
    PERMANENT = "permanent"  # retrying cannot help
    RANGE_TOO_LARGE = "range_too_large"  # the caller must split its range or window
    TRANSIENT = "transient"  # 5xx, timeouts, connection errors, malformed payloads


@dataclass(frozen=True, slots=True)
class Classified:
    outcome: Outcome
    payload: Any = None  # the result, for OK and EMPTY
    reason: str = ""  # the upstream's words, redacted
    retry_after: float | None = None
    suggested_range: tuple[int, int] | None = None
    max_span: int | None = None
    key_problem: bool = False  # PERMANENT because of the key: another key may work

    @property
    def succeeded(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.EMPTY)


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    outcome: Outcome
    key_problem: bool = False
    retry_after: float | None = None


def _rule(pattern: str, outcome: Outcome, **kwargs: Any) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), outcome, **kwargs)


_RULES = (
    _rule(r"max daily|daily rate limit|daily request count|daily limit", Outcome.QUOTA_EXHAUSTED),
    # >5 bad keys in 30 s throttles the whole IP for 30 s (Etherscan docs).
    _rule(r"too many invalid api key", Outcome.RATE_LIMITED, retry_after=30.0),
    _rule(
        r"result window is too large|query timeout occ?urr?ed|specify a block range smaller"
        r"|query returned more than|log response size exceeded|blocks distance"
        r"|block range should work|try with this block range|exceeds limit of"
        r"|is limited to a [\d,]+ range|block range is too wide|bigger than range limit"
        r"|response is too big|up to a [\d,]+k? block range",
        Outcome.RANGE_TOO_LARGE,
    ),
    _rule(
        r"rate limit|max calls per sec|max rate|too many requests?|limit reached|busy",
        Outcome.RATE_LIMITED,
    ),
    _rule(
        r"invalid api ?key|missing api ?key|apikey invalid|invalid key|missing/invalid",
        Outcome.PERMANENT,
        key_problem=True,
    ),
    _rule(
        r"free api access is not supported|api pro endpoint|upgrade to api pro"
        r"|unsupported chainid|deprecated v1 endpoint|missing or invalid (action|module)"
        r"|invalid address format|block number already pass|invalid block range params"
        r"|exceed max (topics|addresses)|extends beyond current head|method not found"
        r"|not supported|does not exist",
        Outcome.PERMANENT,
    ),
)
_EMPTY = re.compile(r"^no (transactions|records|logs|token transfers)", re.IGNORECASE)
_BRACKETS = re.compile(r"\[\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*\]")
_SPANS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"blocks distance:\s*([\d,]+)()",
        r"up to a ([\d,]+)(k?) block range",
        r"limited to a ([\d,]+)() range",
        r"range limit ([\d,]+)()",
        r"exceeds limit of ([\d,]+)()",
        r"too wide \(maximum ([\d,]+)()\)",
        r"smaller than ([\d,]+)() blocks",
    )
)


def classify_text(text: str) -> Classified | None:
    """The outcome a provider's error sentence means, or None when no rule knows it."""
    for rule in _RULES:
        if rule.pattern.search(text):
            found = Classified(
                rule.outcome, reason=redact(text.strip()), key_problem=rule.key_problem
            )
            if rule.retry_after is not None:
                found = replace(found, retry_after=rule.retry_after)
            if rule.outcome is Outcome.RANGE_TOO_LARGE:
                found = replace(found, max_span=max_span(text))
            return found
    return None


def max_span(text: str) -> int | None:
    """A block-count limit stated in a range refusal ("blocks distance: 2000"), if any."""
    for pattern in _SPANS:
        match = pattern.search(text)
        if match:
            return int(match[1].replace(",", "")) * (1000 if match[2] else 1)
    return None


def suggested_range(message: str, data: object) -> tuple[int, int] | None:
    """The provider's hint: ``error.data.{from,to}`` first, then ``[0x…, 0x…]`` in the text."""
    if isinstance(data, dict):
        low, high = data.get("from"), data.get("to")
        if isinstance(low, str) and isinstance(high, str):
            try:
                return int(low, 16), int(high, 16)
            except ValueError:
                pass
    match = _BRACKETS.search(f"{message} {_text(data)}")
    return (int(match[1], 16), int(match[2], 16)) if match else None


def classify_envelope(body: object) -> Classified:
    """Etherscan/Blockscout ``{status, message, result}`` (non-proxy modules)."""
    if not isinstance(body, dict) or "status" not in body:
        return _malformed("expected a {status, message, result} envelope")
    message, result = str(body.get("message") or ""), body.get("result")
    if str(body["status"]) == "1":
        return Classified(Outcome.OK, payload=result)
    if isinstance(result, list) and not result and _EMPTY.match(message):
        return Classified(Outcome.EMPTY, payload=[])
    text = f"{message}: {result}" if isinstance(result, str) else message
    return classify_text(text) or Classified(Outcome.TRANSIENT, reason=redact(text))


def classify_proxy(body: object) -> Classified:
    """Etherscan ``module=proxy``: JSON-RPC shaped, but errors may come as an envelope."""
    if isinstance(body, dict) and "error" in body:
        return classify_rpc_error(body["error"])
    if isinstance(body, dict) and "status" in body and "jsonrpc" not in body:
        return classify_envelope(body)
    if not isinstance(body, dict) or "result" not in body:
        return _malformed("expected a JSON-RPC result")
    result = body["result"]
    if isinstance(result, str) and not result.startswith("0x"):
        # e.g. {"result": "Max rate limit reached"}: an error dressed as a result.
        return classify_text(result) or Classified(Outcome.TRANSIENT, reason=redact(result))
    return Classified(Outcome.OK, payload=result)


def classify_rpc(body: object) -> Classified:
    """One JSON-RPC response object."""
    if not isinstance(body, dict):
        return _malformed("expected a JSON-RPC response object")
    if "error" in body and body["error"] is not None:
        return classify_rpc_error(body["error"])
    if "result" not in body:
        return _malformed("JSON-RPC response without result or error")
    return Classified(Outcome.OK, payload=body["result"])


def classify_rpc_error(error: object) -> Classified:
    if not isinstance(error, dict):
        return classify_text(str(error)) or _malformed("unreadable JSON-RPC error")
    code, message, data = error.get("code"), str(error.get("message") or ""), error.get("data")
    text = f"{message} {_text(data)}".strip()
    found = classify_text(text)
    if found is None:
        found = Classified(_by_code(code), reason=redact(f"{code}: {text}"))
    if found.outcome is Outcome.RANGE_TOO_LARGE:
        found = replace(found, suggested_range=suggested_range(message, data))
    return found


def _by_code(code: object) -> Outcome:
    # Only reached when no text rule matched.
    if code in (-32005, -32012, 429):  # "limit exceeded" (EIP-1474) and provider variants
        return Outcome.RATE_LIMITED
    if code in (-32600, -32601, -32602):  # the request itself is wrong
        return Outcome.PERMANENT
    return Outcome.TRANSIENT


def classify_response(
    response: httpx.Response,
    interpret: Callable[[object], Classified],
    now: datetime | None = None,
) -> Classified:
    """HTTP status, Retry-After and body together; ``interpret`` reads a decoded body."""
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    body = _json(response)
    if response.is_success:
        found = interpret(body) if body is not _INVALID else _malformed("malformed JSON")
    else:
        found = _by_status(response.status_code, body, interpret)
    return replace(found, retry_after=retry_after) if retry_after is not None else found


def _by_status(status: int, body: object, interpret: Callable[[object], Classified]) -> Classified:
    if body is not _INVALID:
        # A JSON error body says more than the status: e.g. QuickNode's 413 range refusal.
        found = interpret(body)
        if found.outcome not in (Outcome.OK, Outcome.EMPTY, Outcome.TRANSIENT):
            return found
    reason = f"HTTP {status}"
    if status == 429:
        return Classified(Outcome.RATE_LIMITED, reason=reason)
    if status in (401, 403):
        return Classified(Outcome.PERMANENT, reason=reason, key_problem=True)
    if status == 413:
        return Classified(Outcome.RANGE_TOO_LARGE, reason=reason)
    if status in (408, 425) or status >= 500:
        return Classified(Outcome.TRANSIENT, reason=reason)
    return Classified(Outcome.PERMANENT, reason=reason)


_INVALID = object()


def _json(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return _INVALID


def _malformed(what: str) -> Classified:
    return Classified(Outcome.TRANSIENT, reason=f"malformed response: {what}")


def _text(data: object) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else json.dumps(data, sort_keys=True)
