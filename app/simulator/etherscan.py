"""Etherscan API V2 at ``GET /v2/api?chainid=…`` (upstreams.md §1), plus the dead V1 host.

Checks run in this order: API key (missing, invalid, too many invalid attempts), per-second
and daily limits of the key's account, ``chainid`` (missing, unknown or Cronos), the plan's
chain coverage, module/action, PRO gating. Every refusal is HTTP 200 with ``status:"0"`` and
the exact texts of upstreams.md §1.5.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from app.simulator import actions, pipeline
from app.simulator.actions import BadParam, Query, notok, ok
from app.simulator.limits import KeySpec
from app.simulator.pipeline import CallContext, Reply

if TYPE_CHECKING:
    from app.simulator.core import Simulator

MISSING_KEY = "Missing/Invalid API Key"
INVALID_KEY = "Invalid API Key (#err2)"
TOO_MANY_INVALID = "Too many invalid api key attempts, please try again later"
CHAINID_TEXT = (
    "Missing or unsupported chainid parameter (required for v2 api), please see "
    "https://api.etherscan.io/v2/chainlist for the list of supported chainids"
)
PAID_CHAIN_TEXT = (
    "Free API access is not supported for this chain. Please upgrade your api plan for full "
    "chain coverage. https://etherscan.io/apis"
)
PRO_TEXT = (
    "Sorry, it looks like you are trying to access an API Pro endpoint. Contact us to upgrade "
    "to API Pro."
)
BAD_MODULE = "Error! Missing or invalid Module name"
BAD_ACTION = "Error! Missing Or invalid Action name"
V1_TEXT = "You are using a deprecated V1 endpoint, switch to Etherscan API V2."
UNSUPPORTED_CHAINS = frozenset({25})  # Cronos left Etherscan V2 in 2025 (upstreams.md §1.3)
INVALID_KEY_BURST = (5, 30.0)  # more than 5 invalid keys in 30 s throttles the client 30 s

Action = Callable[["Simulator", int, Query, KeySpec], Reply]


def per_second_text(spec: KeySpec) -> str:
    return f"Max calls per sec rate limit reached ({spec.plan.per_second}/sec)"


def daily_text(spec: KeySpec) -> str:
    quota = spec.plan.per_day
    return f"Max daily rate limit reached. {quota} (100%) of {quota} day/limit"


async def handle(sim: Simulator, request: Request) -> Response:
    q = request.query_params
    chain_text = q.get("chainid") or ""
    ctx = CallContext(
        service="etherscan",
        endpoint=f"{q.get('module', '')}/{q.get('action', '')}",
        chain_id=int(chain_text) if chain_text.isdigit() else None,
        key=q.get("apikey") or None,
    )
    client = request.client.host if request.client else "?"
    spec = sim.keys.get(ctx.key or "")
    ctx.label = spec.label if spec else ("unknown" if ctx.key else "none")

    def storm() -> Reply:
        return notok(per_second_text(spec or KeySpec.make("free")), "rate_limited")

    return await pipeline.run(sim, ctx, lambda: _produce(sim, ctx, q, client), storm)


async def v1(sim: Simulator, request: Request) -> Response:
    ctx = CallContext(service="etherscan", endpoint="v1", key=request.query_params.get("apikey"))
    return await pipeline.run(
        sim, ctx, lambda: notok(V1_TEXT), lambda: notok("Max rate limit reached", "rate_limited")
    )


def _produce(sim: Simulator, ctx: CallContext, q: Query, client: str) -> Reply:
    spec = sim.keys.get(ctx.key or "")
    refusal = _check_key(sim, ctx, spec, client) or _check_limits(sim, spec)
    if refusal is not None:
        return refusal
    assert spec is not None  # _check_key refused otherwise
    if ctx.endpoint == "getapilimit/getapilimit":
        return _apilimit(sim, ctx.key or "", spec)
    chain_id = ctx.chain_id
    if chain_id is None or chain_id not in sim.world.chains or chain_id in UNSUPPORTED_CHAINS:
        return notok(CHAINID_TEXT)
    if chain_id in spec.paid_chains:
        return notok(PAID_CHAIN_TEXT)
    module = ctx.endpoint.partition("/")[0]
    if module not in MODULES:
        return notok(BAD_MODULE)
    handler = ACTIONS.get(ctx.endpoint)
    if handler is None:
        return notok(BAD_ACTION)
    if ctx.endpoint in PRO_ACTIONS and not spec.plan.pro:
        return notok(PRO_TEXT)
    try:
        return handler(sim, chain_id, q, spec)
    except BadParam as exc:
        return notok(str(exc))


def _check_key(sim: Simulator, ctx: CallContext, spec: KeySpec | None, client: str) -> Reply | None:
    if ctx.key is None:
        return notok(MISSING_KEY, "missing_key")
    if spec is None:
        ctx.label = "unknown"
        limit, seconds = INVALID_KEY_BURST
        if sim.limiter.window(f"badkey:{client}", limit, seconds) is not None:
            return notok(TOO_MANY_INVALID, "invalid_key")
        return notok(INVALID_KEY, "invalid_key")
    ctx.label = spec.label
    return None


def _check_limits(sim: Simulator, spec: KeySpec | None) -> Reply | None:
    assert spec is not None
    bucket = f"etherscan:{spec.account or spec.label}"
    if sim.limiter.window(bucket, spec.plan.per_second) is not None:
        return notok(per_second_text(spec), "rate_limited")
    if not sim.limiter.daily(bucket, spec.plan.per_day):
        return notok(daily_text(spec), "quota_exceeded")
    return None


def _apilimit(sim: Simulator, key: str, spec: KeySpec) -> Reply:
    used = sim.limiter.used_today(f"etherscan:{spec.account or spec.label}")
    left = 86_400 - int(sim.clock.wall()) % 86_400
    return ok(
        {
            "creditsUsed": used,
            "creditsAvailable": spec.plan.per_day - used,
            "creditLimit": spec.plan.per_day,
            "limitInterval": "daily",
            "intervalExpiryTimespan": f"{left // 3600:02d}:{left // 60 % 60:02d}:{left % 60:02d}",
        }
    )


def _tokentx(sim: Simulator, chain_id: int, q: Query, spec: KeySpec) -> Reply:
    cap = spec.plan.max_records
    return actions.tokentx(sim, chain_id, q, cap=cap, default_sort="asc", log_index=False)


def _holder_list(sim: Simulator, chain_id: int, q: Query, spec: KeySpec) -> Reply:
    page = actions.holders_page(sim, chain_id, q, spec.plan.max_records)
    if isinstance(page, Reply):
        return page
    if not page:
        return actions.empty("No token holders found")  # [inf]
    return ok([{"TokenHolderAddress": a, "TokenHolderQuantity": str(b)} for a, b in page])


def _holder_count(sim: Simulator, chain_id: int, q: Query, spec: KeySpec) -> Reply:
    contract = (q.get("contractaddress") or "").lower()
    count = sim.world.holder_count(chain_id) if contract == sim.world.token.address else 0
    return ok(str(sim.reported("holders", chain_id, count)))


def _tokeninfo(sim: Simulator, chain_id: int, q: Query, spec: KeySpec) -> Reply:
    from app.simulator.prices import BY_KEY

    token = sim.world.token
    if (q.get("contractaddress") or "").lower() != token.address:
        return actions.empty("No data found")  # [inf]
    price = sim.prices.quote("coingecko", BY_KEY["bazaars"])
    info = {
        "contractAddress": token.address,
        "tokenName": token.name,
        "symbol": token.symbol,
        "divisor": str(token.decimals),
        "tokenType": "ERC20",
        "totalSupply": str(sim.reported("supply", chain_id, sim.world.supply(chain_id))),
        "blueCheckmark": "false",
        "description": "",
        "website": "",
        "tokenPriceUSD": f"{price:.8f}",
    }
    return ok([info])


MODULES = frozenset(
    {"account", "logs", "stats", "token", "proxy", "block", "contract", "transaction"}
)
ACTIONS: dict[str, Action] = {
    "logs/getLogs": lambda sim, c, q, s: actions.get_logs(sim, c, q),
    "account/tokentx": _tokentx,
    "account/tokenbalance": lambda sim, c, q, s: actions.tokenbalance(sim, c, q),
    "stats/tokensupply": lambda sim, c, q, s: actions.tokensupply(sim, c, q),
    "token/tokenholdercount": _holder_count,
    "token/tokenholderlist": _holder_list,
    "token/tokeninfo": _tokeninfo,
    "proxy/eth_blockNumber": lambda sim, c, q, s: actions.proxy_block_number(sim, c),
    "proxy/eth_getBlockByNumber": lambda sim, c, q, s: actions.proxy_block_by_number(sim, c, q),
    "block/getblocknobytime": lambda sim, c, q, s: actions.block_by_time(
        sim, c, q, blockscout=False
    ),
}
PRO_ACTIONS = frozenset({"token/tokenholdercount", "token/tokenholderlist", "token/tokeninfo"})
