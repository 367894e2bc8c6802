"""One path for every simulated call: faults before, the handler, faults after, the call log.

Handlers return a :class:`Reply` (a JSON-able body, a status, an outcome for the log); they
never build HTTP responses themselves, so every fault kind works on every service alike.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from app.simulator import limits
from app.simulator.calllog import Call
from app.simulator.faults import Fault

if TYPE_CHECKING:
    from app.simulator.core import Simulator

OUTAGE_HTML = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)
QUERY_TIMEOUT = "Query Timeout occured. Please select a smaller result dataset"  # sic


@dataclass(slots=True)
class Reply:
    body: Any
    status: int = 200
    outcome: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # a non-JSON body (outages)


@dataclass(slots=True)
class CallContext:
    service: str
    endpoint: str
    chain_id: int | None = None
    key: str | None = None
    label: str = "none"
    faults: list[Fault] = field(default_factory=list)

    def fault(self, kind: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind), None)


async def run(
    sim: Simulator,
    ctx: CallContext,
    produce: Callable[[], Reply],
    storm: Callable[[], Reply],
) -> Response:
    """Answer one call: ``produce`` the normal reply, ``storm`` the service's rate-limit reply."""
    ctx.faults = sim.faults.hits(ctx.service, ctx.endpoint, ctx.chain_id)
    reply = await _before(ctx, storm)
    # Logged as of now, when the limits admit or refuse it: building a large answer takes
    # the simulator tens of milliseconds, which must not move a call in the log.
    admitted = sim.clock.wall()
    if reply is None:
        reply = produce()
    body = _render(ctx, reply)
    sim.calls.record(
        Call(
            ts=admitted,
            service=ctx.service,
            endpoint=ctx.endpoint,
            chain_id=ctx.chain_id,
            key=limits.fingerprint(ctx.key),
            label=ctx.label,
            outcome=reply.outcome,
            status=reply.status,
        )
    )
    media = "text/html" if reply.text is not None else "application/json"
    return Response(body, reply.status, headers=reply.headers, media_type=media)


async def _before(ctx: CallContext, storm: Callable[[], Reply]) -> Reply | None:
    latency = ctx.fault("latency")
    if latency is not None:
        await asyncio.sleep(float(latency.params.get("ms", 500)) / 1000)
    timeout = ctx.fault("timeout")
    if timeout is not None:
        await asyncio.sleep(float(timeout.params.get("seconds", 30)))
        return Reply({"error": "Gateway Timeout"}, 504, "fault:timeout")
    if (outage := ctx.fault("outage")) is not None:
        headers = (
            {"Retry-After": str(outage.params["retryAfter"])}
            if "retryAfter" in outage.params
            else {}
        )
        return Reply(None, 503, "fault:outage", headers, text=OUTAGE_HTML)
    if (error := ctx.fault("http_error")) is not None:
        status = int(error.params.get("status", 500))
        return Reply({"error": "Internal Server Error"}, status, "fault:http_error")
    if ctx.fault("rate_limit_storm") is not None:
        reply = storm()
        reply.outcome = "fault:rate_limit_storm"
        return reply
    if ctx.fault("query_timeout") is not None and ctx.service in ("etherscan", "cronos"):
        body = {"status": "0", "message": "NOTOK", "result": QUERY_TIMEOUT}
        return Reply(body, 200, "fault:query_timeout")
    return None


def _render(ctx: CallContext, reply: Reply) -> bytes:
    if reply.text is not None:
        return reply.text.encode()
    body = reply.body
    if (truncate := ctx.fault("truncated_page")) is not None and _truncate(body, truncate):
        reply.outcome = "fault:truncated_page"
    if ctx.fault("wrong_types") is not None:
        body = retype(body)
        reply.outcome = "fault:wrong_types"
    data = json.dumps(body, separators=(",", ":")).encode()
    if (malformed := ctx.fault("malformed_json")) is not None:
        keep = float(malformed.params.get("keep", 0.5))
        data = data[: max(1, int(len(data) * keep))] + b'"\x00,'
        reply.outcome = "fault:malformed_json"
    return data


def _truncate(body: Any, fault: Fault) -> bool:
    """Cut the page's list (``result``, ``pairs`` or a bare list) short; True if it did."""
    keep = float(fault.params.get("keep", 0.5))
    for holder, name in _lists(body):
        items = holder[name]
        if len(items) > 1:
            holder[name] = items[: max(1, int(len(items) * keep))]
            return True
    return False


def _lists(body: Any) -> list[tuple[Any, Any]]:
    if isinstance(body, dict):
        return [
            (body, name) for name in ("result", "pairs", "data") if isinstance(body.get(name), list)
        ]
    if isinstance(body, list):
        return [
            (item, "result")
            for item in body
            if isinstance(item, dict) and isinstance(item.get("result"), list)
        ]
    return []


def retype(value: Any) -> Any:
    """The "wrong field types" fault: numbers become strings and numeric strings numbers."""
    if isinstance(value, dict):
        return {key: retype(item) for key, item in value.items()}
    if isinstance(value, list):
        return [retype(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if value.isdigit() and len(value) < 30:
            return int(value)
        if value.startswith("0x") and 2 < len(value) <= 18:
            return int(value, 16)
    return value
