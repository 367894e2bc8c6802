"""Etherscan-compatible actions shared by Etherscan V2 (`/v2/api`) and the Cronos explorer.

Each takes the simulator, a chain and the query parameters and returns a Reply in the
Etherscan envelope (upstreams.md §1.4, §1.5). Service differences (records cap, default sort,
``logIndex`` in tokentx, Blockscout shapes) come in as arguments.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from app.simulator import rows
from app.simulator.pipeline import Reply
from app.simulator.world import Log

if TYPE_CHECKING:
    from app.simulator.core import Simulator

WINDOW_TEXT = "Result window is too large, PageNo x Offset size must be less than or equal to 10000"
RESULT_WINDOW = 10_000
GETLOGS_MAX = 1_000  # records per getLogs call, every plan
FREE_OFFSET_TEXT = "Error! Max records per call for free API plan is 1000"  # [inf] upstreams §7.1

Query = Mapping[str, str]


class BadParam(Exception):
    """A parameter the upstream would refuse; the message is the upstream's result text."""


def ok(result: Any) -> Reply:
    return Reply({"status": "1", "message": "OK", "result": result})


def notok(result: Any, outcome: str = "error") -> Reply:
    return Reply({"status": "0", "message": "NOTOK", "result": result}, outcome=outcome)


def empty(message: str) -> Reply:
    return Reply({"status": "0", "message": message, "result": []}, outcome="empty")


def block_param(value: str | None, head: int, default: int) -> int:
    if value is None or value == "":
        return default
    if value == "latest":
        return head
    if not value.isdigit():
        raise BadParam("Error! Invalid block number")
    return int(value)


def paging(q: Query, cap: int, default_offset: int) -> tuple[int, int] | Reply:
    """(page, offset) after the result-window check and the records cap, or the error reply."""
    try:
        page = int(q.get("page") or 1)
        offset = int(q.get("offset") or default_offset)
    except ValueError:
        return notok("Error! Invalid page or offset")
    page, offset = max(page, 1), max(offset, 1)
    if page * offset > RESULT_WINDOW:
        return Reply({"status": "0", "message": WINDOW_TEXT, "result": None}, outcome="error")
    return page, min(offset, cap)


def get_logs(sim: Simulator, chain_id: int, q: Query) -> Reply:
    world = sim.world
    head = world.head(chain_id)
    lo = block_param(q.get("fromBlock"), head, 0)
    hi = block_param(q.get("toBlock"), head, head)
    paged = paging(q, GETLOGS_MAX, GETLOGS_MAX)
    if isinstance(paged, Reply):
        return paged
    page, offset = paged
    address = (q.get("address") or "").lower()
    if address and address != world.token.address:
        return empty("No records found")
    matches = _topic_filter(q)
    logs = (log for log in world.logs(chain_id, lo, hi) if matches(log))
    chosen = list(itertools.islice(logs, (page - 1) * offset, page * offset))
    if not chosen:
        return empty("No records found")
    return ok([rows.etherscan_log(world, log) for log in chosen])


def _topic_filter(q: Query) -> Any:
    wanted = {i: q[f"topic{i}"].lower() for i in range(4) if q.get(f"topic{i}")}
    ops = {
        (i, j): (q.get(f"topic{i}_{j}_opr") or "and").lower()
        for i in wanted
        for j in wanted
        if i < j
    }

    def matches(log: Log) -> bool:
        topics = log.topics
        hit = {i: i < len(topics) and topics[i] == t for i, t in wanted.items()}
        if not ops:
            return all(hit.values())
        return all(
            (hit[i] or hit[j]) if op == "or" else (hit[i] and hit[j]) for (i, j), op in ops.items()
        )

    return matches


def tokentx(
    sim: Simulator, chain_id: int, q: Query, *, cap: int, default_sort: str, log_index: bool
) -> Reply:
    world = sim.world
    contract = (q.get("contractaddress") or "").lower()
    address = (q.get("address") or "").lower()
    if not contract and not address:
        return notok("Error! Invalid address format")
    paged = paging(q, RESULT_WINDOW, RESULT_WINDOW)
    if isinstance(paged, Reply):
        return paged
    page, offset = paged
    if offset > cap:
        if sim.options.free_offset == "error":
            return notok(FREE_OFFSET_TEXT)
        offset = cap
    if contract and contract != world.token.address:
        return empty("No transactions found")
    head = world.head(chain_id)
    lo = block_param(q.get("startblock"), head, 0)
    hi = block_param(q.get("endblock"), head, head)
    desc = (q.get("sort") or default_sort).lower() == "desc"
    logs: Iterator[Log] = (
        world.transfers_of(chain_id, address, lo, hi, reverse=desc)
        if address
        else world.logs(chain_id, lo, hi, erc20_only=True, reverse=desc)
    )
    chosen = list(itertools.islice(logs, (page - 1) * offset, page * offset))
    if not chosen:
        return empty("No transactions found")
    return ok([rows.tokentx(world, log, head, log_index=log_index) for log in chosen])


def tokensupply(sim: Simulator, chain_id: int, q: Query) -> Reply:
    contract = (q.get("contractaddress") or "").lower()
    supply = sim.world.supply(chain_id) if contract == sim.world.token.address else 0
    return ok(str(sim.reported("supply", chain_id, supply)))


def tokenbalance(sim: Simulator, chain_id: int, q: Query) -> Reply:
    contract = (q.get("contractaddress") or "").lower()
    address = (q.get("address") or "").lower()
    if not address.startswith("0x") or len(address) != 42:
        return notok("Error! Invalid address format")
    if contract != sim.world.token.address:
        return ok("0")
    return ok(str(sim.world.balance_of(chain_id, address)))


def holders_page(
    sim: Simulator, chain_id: int, q: Query, cap: int
) -> list[tuple[str, int]] | Reply:
    paged = paging(q, cap, cap)
    if isinstance(paged, Reply):
        return paged
    page, offset = paged
    contract = (q.get("contractaddress") or "").lower()
    if contract != sim.world.token.address:
        return []
    return sim.world.balances(chain_id)[(page - 1) * offset : page * offset]


def block_by_time(sim: Simulator, chain_id: int, q: Query, *, blockscout: bool) -> Reply:
    text = q.get("timestamp") or ""
    closest = (q.get("closest") or "before").lower()
    if not text.isdigit() or closest not in ("before", "after"):
        return notok("Error! Invalid parameter")
    number = sim.world.block_by_time(chain_id, int(text), closest)
    if number is None:
        return notok("Error! No closest block found")
    return ok({"blockNumber": str(number)} if blockscout else str(number))


def proxy_block_number(sim: Simulator, chain_id: int, rpc_id: int = 83) -> Reply:
    return Reply({"jsonrpc": "2.0", "id": rpc_id, "result": rows.qty(sim.world.head(chain_id))})


def proxy_block_by_number(sim: Simulator, chain_id: int, q: Query) -> Reply:
    rpc_id = 1
    number = resolve_tag(sim, chain_id, q.get("tag") or "latest")
    if isinstance(number, str):
        error = {"code": -32602, "message": number}
        return Reply({"jsonrpc": "2.0", "id": rpc_id, "error": error}, outcome="error")
    full = (q.get("boolean") or "false").lower() == "true"
    if number > sim.world.head(chain_id):
        return Reply({"jsonrpc": "2.0", "id": rpc_id, "result": None})
    block = rows.rpc_block(sim.world, chain_id, sim.world.block(chain_id, number), full)
    return Reply({"jsonrpc": "2.0", "id": rpc_id, "result": block})


def resolve_tag(sim: Simulator, chain_id: int, tag: str, *, instant: bool = False) -> int | str:
    """A block tag or hex number -> block number, or geth's error text."""
    world = sim.world
    if tag in ("latest", "pending"):
        return world.head(chain_id)
    if tag == "earliest":
        return 0
    if tag == "finalized":
        return world.head(chain_id) if instant else world.finalized(chain_id)
    if tag == "safe":
        return world.head(chain_id) if instant else world.safe(chain_id)
    if not tag.startswith("0x"):
        return "invalid argument 0: hex string without 0x prefix"
    try:
        return int(tag, 16)
    except ValueError:
        return "invalid argument 0: invalid hex string"
