"""The Cronos explorer at ``GET /cronos/api`` (upstreams.md §2.1, legacy-api §2).

An Etherscan-compatible envelope without ``chainid``, with the Blockscout habits the legacy
code relies on: ``block/eth_block_number``, ``token/getTokenHolders`` rows ``{address, value}``,
``tokentx`` rows with ``logIndex`` and ``sort`` defaulting to ``desc``, ``getblocknobytime``
answering an object. Holder count is not offered (the legacy shows 0 for Cronos).

Rate limits: keyless calls get Blockscout's 5/s per client, keyed calls
``Options.cronos_per_second`` per key; refusals are HTTP 429 (the real body is unpublished,
upstreams.md §7.3, so the JSON below is an inference).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from app.simulator import actions, pipeline
from app.simulator.actions import BadParam, Query, notok, ok
from app.simulator.pipeline import CallContext, Reply

if TYPE_CHECKING:
    from app.simulator.core import Simulator

CRONOS = 25
KEYLESS_PER_SECOND = 5
RECORDS_CAP = 10_000
Action = Callable[["Simulator", int, Query], Reply]


def too_many() -> Reply:
    body = {"message": "Too Many Requests", "result": None, "status": "0"}  # [inf]
    return Reply(body, 429, "rate_limited", {"Retry-After": "1"})


def blockscout_error(message: str) -> Reply:
    return Reply({"message": message, "result": None, "status": "0"}, outcome="error")


async def handle(sim: Simulator, request: Request) -> Response:
    q = request.query_params
    ctx = CallContext(
        service="cronos",
        endpoint=f"{q.get('module', '')}/{q.get('action', '')}",
        chain_id=CRONOS,
        key=q.get("apikey") or None,
    )
    client = request.client.host if request.client else "?"
    spec = sim.keys.get(ctx.key or "")
    ctx.label = spec.label if spec else ("unknown" if ctx.key else "none")
    return await pipeline.run(sim, ctx, lambda: _produce(sim, ctx, q, client), too_many)


def _produce(sim: Simulator, ctx: CallContext, q: Query, client: str) -> Reply:
    if CRONOS not in sim.world.chains:
        return blockscout_error("Chain not served")
    if ctx.key is None:
        bucket, limit = f"cronos:client:{client}", KEYLESS_PER_SECOND
    else:
        spec = sim.keys.get(ctx.key)
        if spec is None:
            ctx.label = "unknown"
            return notok("Invalid API Key", "invalid_key")  # [inf]
        ctx.label = spec.label
        bucket, limit = f"cronos:{spec.account or spec.label}", sim.options.cronos_per_second
    if sim.limiter.window(bucket, limit) is not None:
        return too_many()
    module, _, _ = ctx.endpoint.partition("/")
    if module not in {name.partition("/")[0] for name in ACTIONS}:
        return blockscout_error("Unknown module")
    handler = ACTIONS.get(ctx.endpoint)
    if handler is None:
        return blockscout_error("Unknown action")
    try:
        return handler(sim, CRONOS, q)
    except BadParam as exc:
        return notok(str(exc))


def _holders(sim: Simulator, chain_id: int, q: Query) -> Reply:
    page = actions.holders_page(sim, chain_id, q, RECORDS_CAP)
    if isinstance(page, Reply):
        return page
    return ok([{"address": a, "value": str(b)} for a, b in page])


def _block_number(sim: Simulator, chain_id: int, q: Query) -> Reply:
    return actions.proxy_block_number(sim, chain_id, rpc_id=1)


ACTIONS: dict[str, Action] = {
    "logs/getLogs": actions.get_logs,
    "account/tokentx": lambda sim, c, q: actions.tokentx(
        sim, c, q, cap=RECORDS_CAP, default_sort="desc", log_index=True
    ),
    "account/tokenbalance": actions.tokenbalance,
    "stats/tokensupply": actions.tokensupply,
    "token/getTokenHolders": _holders,
    "block/eth_block_number": _block_number,
    "block/getblocknobytime": lambda sim, c, q: actions.block_by_time(sim, c, q, blockscout=True),
    "proxy/eth_blockNumber": _block_number,
    "proxy/eth_getBlockByNumber": actions.proxy_block_by_number,
}
