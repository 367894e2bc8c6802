"""The legacy query parameters of ``GET /api/transfers`` (legacy-api.md §1.3), validated.

Defaults and clamps are the legacy ones; what the legacy API turned into a 500 (an unknown
or non-numeric chain) or let through is a 400 here, with a code and the parameter's name:

=================  ====================================  ==================================
parameter          accepted                              default / clamp
=================  ====================================  ==================================
``chainId``        ``all``, ``0``, empty, a chain id      all chains
``page``           integer >= 1                           1
``pageSize``       integer                                25; 0 or less: 25; above 100: 100
``sort``           ``asc`` / ``desc`` (any case)          ``desc``
``startBlock``,    block numbers (``block`` sets both)    none; start > end is a 400
``endBlock``
``address``        0x + 40 hex: sender or receiver        none
``hash``           0x + 64 hex                            none
``includeTotals``  anything but ``false``                 true
``cursor``         a cursor from ``meta.nextCursor``      none (then ``page`` is not used)
``force``          ignored (it only ever affected the legacy upstream mode)
=================  ====================================  ==================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.config import Config
from app.errors import InvalidInput
from app.ops import transfer_inputs as inputs
from app.ops.transfer_connection import Names, build_filter
from app.store.transfer_sql import Order, TransferFilter

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
ALL_CHAINS = frozenset({"", "0", "all"})
_INTEGER = re.compile(r"^[+-]?[0-9]{1,19}$")
_NAMES = Names(
    chain_id="chainId",
    address="address",
    tx_hash="hash",
    from_block="startBlock",
    to_block="endBlock",
)


@dataclass(frozen=True, slots=True)
class TransfersQuery:
    filter: TransferFilter
    order: Order
    page: int
    page_size: int
    include_totals: bool
    cursor: str | None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def integer(raw: str, field: str, error: type[InvalidInput]) -> int:
    if not _INTEGER.match(raw.strip()):
        raise error(f"{field}: {raw[:40]!r} is not an integer", field=field)
    return int(raw)


def chain_id(config: Config, raw: str | None) -> int | None:
    """None for all chains, else a configured chain id (InvalidChain otherwise)."""
    text = (raw or "").strip().lower()
    if text in ALL_CHAINS:
        return None
    value = integer(text, "chainId", inputs.InvalidChain)
    return inputs.chain(config, value, "chainId").id


def page_size(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_PAGE_SIZE
    value = integer(raw, "pageSize", inputs.InvalidPageSize)
    return DEFAULT_PAGE_SIZE if value <= 0 else min(value, MAX_PAGE_SIZE)


def page(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 1
    value = integer(raw, "page", inputs.InvalidPage)
    if value < 1:
        raise inputs.InvalidPage(f"page must be at least 1, got {value}", field="page")
    return value


def order(raw: str | None) -> Order:
    text = (raw or "desc").strip().lower()
    if text not in {"asc", "desc"}:
        raise inputs.InvalidSort(f"sort: expected asc or desc, got {text[:20]!r}", field="sort")
    return Order.OLDEST_FIRST if text == "asc" else Order.NEWEST_FIRST


def _block(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or not raw.strip():
        return None
    return integer(raw, name, inputs.InvalidBlockRange)


def _text(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    return raw.strip() if raw and raw.strip() else None


def parse(config: Config, params: Mapping[str, str]) -> TransfersQuery:
    """The validated query, or an InvalidInput subclass naming the parameter."""
    start, end = _block(params, "startBlock"), _block(params, "endBlock")
    single = _block(params, "block")
    if single is not None:
        start = end = single
    transfer_filter = build_filter(
        config,
        chain_id=chain_id(config, params.get("chainId")),
        address=_text(params, "address"),
        tx_hash=_text(params, "hash"),
        from_block=start,
        to_block=end,
        names=_NAMES,
    )
    return TransfersQuery(
        filter=transfer_filter,
        order=order(params.get("sort")),
        page=page(params.get("page")),
        page_size=page_size(params.get("pageSize")),
        include_totals=(params.get("includeTotals") or "").strip().lower() != "false",
        cursor=_text(params, "cursor"),
    )
