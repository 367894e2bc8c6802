"""JSON-RPC per chain at ``POST /rpc/{chainId}``, single requests and batches (upstreams.md §3).

``eth_call`` answers the token's ``totalSupply()`` and ``balanceOf(address)``.
Each chain answers with a provider personality (``personalities.py``): Cronos is an Ethermint
node (2,000-block distance, 10,000 results, safe/finalized = latest), others answer like
Infura, Alchemy, QuickNode, Nethermind or zkSync. ``Options.rpc_personalities`` and
``Options.rpc_limits`` override them per chain.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.simulator import actions, pipeline, rows
from app.simulator.personalities import PERSONALITIES, Personality, Refusal
from app.simulator.pipeline import CallContext, Reply
from app.simulator.world import Log

if TYPE_CHECKING:
    from app.simulator.core import Simulator


TOTAL_SUPPLY = "0x18160ddd"  # ERC-20 selectors eth_call answers
BALANCE_OF = "0x70a08231"


class RpcError(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def personality(sim: Simulator, chain_id: int) -> Personality:
    names = sim.options.rpc_personalities or {}
    found = PERSONALITIES[names.get(chain_id, sim.world.spec(chain_id).personality)]
    limits = (sim.options.rpc_limits or {}).get(chain_id)
    return found if limits is None else found.with_limits(*limits)


async def handle(sim: Simulator, request: Request) -> Response:
    chain_id = int(request.path_params["chain_id"])
    if chain_id not in sim.world.chains:
        return JSONResponse({"error": f"chain {chain_id} is not simulated"}, 404)
    raw = await request.body()
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None
        endpoint = "invalid"
    else:
        endpoint = "batch" if isinstance(payload, list) else str(_method(payload))
    ctx = CallContext(service="rpc", endpoint=endpoint, chain_id=chain_id)
    ctx.label = "none"

    def storm() -> Reply:
        error = {"code": -32005, "message": "Too Many Requests"}  # [inf] provider-specific
        return Reply(
            {"jsonrpc": "2.0", "id": _id(payload), "error": error},
            429,
            "rate_limited",
            {"Retry-After": "1"},
        )

    return await pipeline.run(sim, ctx, lambda: _produce(sim, chain_id, payload, raw), storm)


def _produce(sim: Simulator, chain_id: int, payload: Any, raw: bytes) -> Reply:
    if payload is None:
        error = {"code": -32700, "message": "parse error"}
        return Reply({"jsonrpc": "2.0", "id": None, "error": error}, outcome="error")
    if isinstance(payload, list):
        if not payload:
            error = {"code": -32600, "message": "empty batch"}
            return Reply({"jsonrpc": "2.0", "id": None, "error": error}, outcome="error")
        # Notifications (no "id") are executed but get no entry, as on geth.
        answers = [_answer(sim, chain_id, item)[0] for item in payload]
        body = [a for a, item in zip(answers, payload, strict=True) if not _notification(item)]
        failed = any("error" in answer for answer in answers)
        return Reply(body, outcome="error" if failed else "ok")
    answer, status = _answer(sim, chain_id, payload)
    return Reply(answer, status, "error" if "error" in answer else "ok")


def _answer(sim: Simulator, chain_id: int, request: Any) -> tuple[dict[str, Any], int]:
    if not isinstance(request, dict) or not isinstance(request.get("method"), str):
        error = {"code": -32600, "message": "invalid request"}
        return {"jsonrpc": "2.0", "id": _id(request), "error": error}, 200
    rpc_id = request.get("id")
    params = request.get("params") or []
    try:
        result = _call(sim, chain_id, request["method"], params if isinstance(params, list) else [])
    except RpcError as exc:
        body = {"jsonrpc": "2.0", "id": rpc_id, "error": exc.refusal.error()}
        return body, exc.refusal.http_status
    return {"jsonrpc": "2.0", "id": rpc_id, "result": result}, 200


def _call(sim: Simulator, chain_id: int, method: str, params: list[Any]) -> Any:
    world = sim.world
    if method == "eth_chainId":
        return hex(chain_id)
    if method == "net_version":
        return str(chain_id)
    if method == "eth_blockNumber":
        return hex(world.head(chain_id))
    if method == "eth_getBlockByNumber":
        return _block(sim, chain_id, params)
    if method == "eth_getLogs":
        return _logs(sim, chain_id, params)
    if method == "eth_call":
        return _eth_call(sim, chain_id, params)
    raise RpcError(Refusal(-32601, f"the method {method} does not exist/is not available"))


def _block(sim: Simulator, chain_id: int, params: list[Any]) -> Any:
    if not params or not isinstance(params[0], str):
        raise RpcError(Refusal(-32602, "missing value for required argument 0"))
    number = _resolve(sim, chain_id, params[0])
    if number > sim.world.head(chain_id):
        return None
    full = bool(params[1]) if len(params) > 1 else False
    return rows.rpc_block(sim.world, chain_id, sim.world.block(chain_id, number), full)


def _eth_call(sim: Simulator, chain_id: int, params: list[Any]) -> str:
    """The token's ``totalSupply()`` and ``balanceOf(address)`` at the head; other calls
    revert, as a contract without that function would."""
    call = params[0] if params and isinstance(params[0], dict) else None
    if call is None:
        raise RpcError(Refusal(-32602, "missing value for required argument 0"))
    to, data = str(call.get("to") or "").lower(), str(call.get("data") or call.get("input") or "")
    if to != sim.world.token.address:
        return "0x"  # no code at that address: an empty answer, as nodes give
    selector = data[:10].lower()
    if selector == TOTAL_SUPPLY and len(data) == 10:
        value = sim.reported("supply", chain_id, sim.world.supply(chain_id))
    elif selector == BALANCE_OF and len(data) == 74:
        value = sim.world.balance_of(chain_id, "0x" + data[-40:].lower())
    else:
        raise RpcError(Refusal(3, "execution reverted"))
    return "0x" + format(value, "064x")


def _resolve(sim: Simulator, chain_id: int, tag: str) -> int:
    instant = personality(sim, chain_id).tags_are_latest
    number = actions.resolve_tag(sim, chain_id, tag, instant=instant)
    if isinstance(number, str):
        raise RpcError(Refusal(-32602, number))
    return number


def _logs(sim: Simulator, chain_id: int, params: list[Any]) -> list[dict[str, Any]]:
    if not params or not isinstance(params[0], dict):
        raise RpcError(Refusal(-32602, "missing value for required argument 0"))
    query: dict[str, Any] = params[0]
    world, p = sim.world, personality(sim, chain_id)
    head = world.head(chain_id)
    if query.get("blockHash"):
        lo = hi = _by_hash(sim, chain_id, str(query["blockHash"]), head)
    else:
        lo = _resolve(sim, chain_id, str(query.get("fromBlock") or "latest"))
        hi = _resolve(sim, chain_id, str(query.get("toBlock") or "latest"))
        if p.clamp_to_head:
            lo, hi = max(lo, 1), min(max(hi, 1), head)
            if lo > head:
                return []
        if lo > hi:
            raise RpcError(Refusal(-32000, "invalid block range params"))
        if hi > head:
            raise RpcError(Refusal(-32602, "block range extends beyond current head block"))
        if p.too_wide(lo, hi):
            raise RpcError(p.range_refusal(lo, hi))
    matches = _filter(world.token.address, query)
    found = (log for log in world.logs(chain_id, lo, hi) if matches(log))
    limit = p.max_results
    if limit is not None and not (p.name == "alchemy" and hi - lo + 1 <= (p.max_range or 0)):
        # Build at most limit + 1 logs: enough to refuse, and to name the range that fits.
        logs = list(itertools.islice(found, limit + 1))
        if len(logs) > limit:
            raise RpcError(p.result_refusal(lo, max(lo, logs[limit].block - 1)))
    else:
        logs = list(found)
    return [rows.rpc_log(world, log, with_timestamp=p.block_timestamp) for log in logs]


def _by_hash(sim: Simulator, chain_id: int, block_hash: str, head: int) -> int:
    # Hashes are not invertible: look among recent blocks, where a client asks by hash.
    for number in range(head, max(0, head - 2_048), -1):
        if sim.world.block(chain_id, number).hash == block_hash.lower():
            return number
    raise RpcError(Refusal(-32000, "unknown block"))


def _filter(token: str, query: dict[str, Any]) -> Any:
    address = query.get("address")
    addresses = (
        {a.lower() for a in address}
        if isinstance(address, list)
        else ({address.lower()} if isinstance(address, str) else set())
    )
    topics = query.get("topics") or []

    def matches(log: Log) -> bool:
        if addresses and token not in addresses:
            return False
        have = log.topics
        for i, want in enumerate(topics):
            if want is None:
                continue
            options = {w.lower() for w in want} if isinstance(want, list) else {str(want).lower()}
            if i >= len(have) or have[i] not in options:
                return False
        return True

    return matches


def _method(payload: Any) -> Any:
    return payload.get("method", "invalid") if isinstance(payload, dict) else "invalid"


def _id(payload: Any) -> Any:
    return payload.get("id") if isinstance(payload, dict) else None


def _notification(item: Any) -> bool:
    return isinstance(item, dict) and "method" in item and "id" not in item
