"""The legacy approach to ``/api/transfers``, as the baseline of the transfers API benchmark.

What the legacy store mode did on every request (legacy-api.md §1.3): an exact ``COUNT(*)``
under the filters on the raw table, and the page by ``ORDER BY ... LIMIT ... OFFSET``
(``(page - 1) * pageSize``), address as ``from = $1 OR to = $1``. It runs on the same
database, indexes and JSON encoding as the new API, so the ratio measures the approach.

    uvicorn --factory bench.legacy_app:create   (TOKENPULSE_DATABASE_URL from the environment)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any, LiteralString

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ORDER: LiteralString = " order by block_time desc, block_number desc, log_index desc"
COLUMNS: LiteralString = (
    "select chain_id, block_time, block_number, tx_hash, log_index, from_address, to_address,"
    " value from transfers"
)


def where(params: dict[str, Any], chain_id: str, address: str) -> LiteralString:
    parts: list[LiteralString] = []
    if chain_id not in ("", "0", "all"):
        params["chain_id"] = int(chain_id)
        parts.append("chain_id = %(chain_id)s")
    if address:
        params["address"] = bytes.fromhex(address.removeprefix("0x"))
        parts.append("(from_address = %(address)s or to_address = %(address)s)")
    return (" where " + " and ".join(parts)) if parts else ""


def row(item: DictRow) -> dict[str, Any]:
    return {
        "blockNumber": str(item["block_number"]),
        "timeStamp": str(int(item["block_time"].timestamp())),
        "hash": "0x" + bytes(item["tx_hash"]).hex(),
        "logIndex": str(item["log_index"]),
        "from": "0x" + bytes(item["from_address"]).hex(),
        "to": "0x" + bytes(item["to_address"]).hex(),
        "value": str(item["value"]),
        "chainId": item["chain_id"],
    }


def create() -> Starlette:
    pool = AsyncConnectionPool[AsyncConnection[DictRow]](
        os.environ["TOKENPULSE_DATABASE_URL"],
        min_size=4,
        max_size=10,
        kwargs={"row_factory": dict_row},
        open=False,
        timeout=600,  # requests queue for a connection as long as it takes, as Node's pg did
    )

    async def transfers(request: Request) -> JSONResponse:
        query = request.query_params
        page, size = int(query.get("page", "1")), int(query.get("pageSize", "25"))
        params: dict[str, Any] = {"limit": size, "offset": (page - 1) * size}
        condition = where(params, query.get("chainId", "0"), query.get("address", ""))
        async with pool.connection() as conn:
            cur = await conn.execute("select count(*) as n from transfers" + condition, params)
            counted = await cur.fetchone()
            cur = await conn.execute(
                COLUMNS + condition + ORDER + " limit %(limit)s offset %(offset)s", params
            )
            rows = await cur.fetchall()
        total = int(counted["n"]) if counted else 0
        return JSONResponse(
            {
                "data": [row(item) for item in rows],
                "meta": {"page": page, "pageSize": size, "total": total},
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        try:
            yield
        finally:
            await pool.close()

    return Starlette(routes=[Route("/legacy/transfers", transfers)], lifespan=lifespan)
