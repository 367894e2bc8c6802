"""GET /api/transfers: the legacy document field by field, its parameters, defaults and clamps,
pages and cursors against the reference order, every refusal, ETag/Cache-Control and the
cache kept in step by the worker's notifications."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.store.transfer_sql import Order, TransferFilter
from tests.api import transfer_data
from tests.api.transfer_data import HOLDERS, dataset, expected, transfer
from tests.conftest import make_config

ROWS = dataset()
POLYGON = [row for row in ROWS if row.chain_id == 137]
LEGACY_ROW = [
    "blockNumber", "timeStamp", "hash", "nonce", "blockHash", "from", "contractAddress", "to",
    "value", "tokenName", "tokenSymbol", "tokenDecimal", "transactionIndex", "gas", "gasPrice",
    "gasUsed", "cumulativeGasUsed", "input", "methodId", "functionName", "confirmations",
]  # fmt: skip
TOP_LEVEL = {
    "data", "meta", "totals", "chain", "sort", "filters", "timestamp", "stale", "source",
    "warnings", "limits", "defaults", "warm", "chains", "availableChains", "request",
}  # fmt: skip
SNAPSHOT = {
    "chainId", "chainName", "ready", "stale", "indexLagSeconds", "totalTransfers",
    "upstreamTotalTransfers", "upstreamLastBlock", "upstreamUpdatedAt", "lastBlock",
    "lastTimestamp", "warmStatus", "coverageComplete", "lastCoveredBlock",
}  # fmt: skip


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    transfer_data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def hashes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["hash"], item["logIndex"]) for item in body["data"]]


def reference(f: TransferFilter, order: Order = Order.NEWEST_FIRST) -> list[tuple[str, str]]:
    return [(row.tx_hash, str(row.log_index)) for row in expected(ROWS, f, order)]


def test_one_chain_document_field_by_field(api: TestClient, config: Config) -> None:
    response = api.get(
        "/api/transfers",
        params={"chainId": "137", "page": "1", "pageSize": "5", "sort": "desc",
                "includeTotals": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == TOP_LEVEL
    newest = expected(ROWS, TransferFilter(chain_id=137), Order.NEWEST_FIRST)
    assert body["meta"] | {"nextCursor": None} == {
        "page": 1, "pageSize": 5, "total": len(POLYGON), "totalPages": -(-len(POLYGON) // 5),
        "hasMore": True, "windowExceeded": False, "maxWindowPages": None,
        "resultWindow": None, "cursor": None, "nextCursor": None,
    }  # fmt: skip
    assert isinstance(body["meta"]["nextCursor"], str)
    totals = body["totals"]
    assert totals | {"timestamp": 0} == {
        "total": len(POLYGON), "upstreamTotal": None, "allTimeTotal": len(POLYGON),
        "truncated": False, "resultLength": 5, "timestamp": 0, "stale": False,
        "source": "store", "allTimeTotalAvailable": True, "accuracy": "exact",
    }  # fmt: skip
    assert body["chain"] == {"id": 137, "name": "Polygon", "provider": "etherscan"}
    assert (body["sort"], body["source"], body["stale"], body["warnings"]) == (
        "desc", "store", False, [],
    )  # fmt: skip
    assert body["filters"] == {"startBlock": None, "endBlock": None, "address": None, "hash": None}
    assert abs(body["timestamp"] - time.time() * 1000) < 60_000
    assert body["limits"] == {"maxPageSize": 100, "totalFetchLimit": None, "resultWindow": None}
    assert body["defaults"] == {"chainId": 0, "pageSize": 25, "sort": "desc"}
    assert body["request"] == {"includeTotals": True}
    assert body["availableChains"][0] == {"id": 0, "name": "All Chains"}
    assert [c["id"] for c in body["availableChains"][1:]] == [c.id for c in config.chains]
    assert body["warm"]["chains"] == body["chains"]
    assert [item["chainId"] for item in body["chains"]] == [c.id for c in config.chains]
    polygon = next(item for item in body["chains"] if item["chainId"] == 137)
    assert set(polygon) == SNAPSHOT
    assert polygon["totalTransfers"] == len(POLYGON)
    assert polygon["lastBlock"] == newest[0].block_number  # the legacy backend sent 0
    assert polygon["lastTimestamp"] == int(newest[0].block_time.timestamp())
    assert (polygon["ready"], polygon["stale"], polygon["warmStatus"]) == (True, False, "fresh")
    first, source = body["data"][0], newest[0]
    assert list(first) == [*LEGACY_ROW, "logIndex", "chainId", "chainName"]
    head = transfer_data.tops(config, ROWS)[137] + 10
    assert first == {
        "blockNumber": str(source.block_number),
        "timeStamp": str(int(source.block_time.timestamp())),
        "hash": source.tx_hash, "nonce": None, "blockHash": source.block_hash,
        "from": source.from_address,
        "contractAddress": "0x85cb098bdcd3ca929d2cd18fc7a2669ff0362242",
        "to": source.to_address, "value": str(source.value), "tokenName": "Bazaars",
        "tokenSymbol": "BZR", "tokenDecimal": "18", "transactionIndex": str(source.tx_index),
        "gas": None, "gasPrice": None, "gasUsed": None, "cumulativeGasUsed": None,
        "input": "deprecated", "methodId": None, "functionName": None,
        "confirmations": str(head - source.block_number + 1),
        "logIndex": str(source.log_index), "chainId": 137, "chainName": "Polygon",
    }  # fmt: skip


@pytest.mark.parametrize("chain", ["0", "all", "", "ALL"])
def test_all_chains_mode_works(api: TestClient, chain: str) -> None:
    body = api.get("/api/transfers", params={"chainId": chain, "pageSize": "100"}).json()
    assert body["chain"] == {"id": 0, "name": "All Chains"}
    assert hashes(body) == reference(TransferFilter())[:100]
    assert body["totals"]["allTimeTotal"] == body["meta"]["total"] == len(ROWS)
    assert {row["chainId"] for row in body["data"]} == {1, 56, 137}


def test_defaults_without_parameters(api: TestClient) -> None:
    body = api.get("/api/transfers").json()
    assert body["meta"]["page"] == 1
    assert body["meta"]["pageSize"] == 25
    assert body["sort"] == "desc"
    assert body["totals"] is not None
    assert hashes(body) == reference(TransferFilter())[:25]


@pytest.mark.parametrize(
    ("given", "size"), [("0", 25), ("-3", 25), ("", 25), ("500", 100), ("7", 7)]
)
def test_page_size_is_clamped_as_the_legacy_api_did(api: TestClient, given: str, size: int) -> None:
    body = api.get("/api/transfers", params={"pageSize": given}).json()
    assert body["meta"]["pageSize"] == size
    assert len(body["data"]) == size


@pytest.mark.parametrize("order", list(Order))
def test_pages_walk_the_whole_order(api: TestClient, order: Order) -> None:
    sort = "asc" if order is Order.OLDEST_FIRST else "desc"
    seen: list[tuple[str, str]] = []
    for page in range(1, 100):
        params = {"chainId": "137", "page": str(page), "pageSize": "7", "sort": sort}
        body = api.get("/api/transfers", params=params).json()
        seen += hashes(body)
        if not body["meta"]["hasMore"]:
            assert page == body["meta"]["totalPages"]
            break
    assert seen == reference(TransferFilter(chain_id=137), order)
    beyond = api.get("/api/transfers", params={"chainId": "137", "page": "999"}).json()
    assert (beyond["data"], beyond["meta"]["hasMore"]) == ([], False)


def test_pages_without_totals_and_past_the_end(api: TestClient) -> None:
    params = {"includeTotals": "false", "pageSize": "100", "page": "3"}
    body = api.get("/api/transfers", params=params).json()
    assert body["totals"] is None
    assert (body["meta"]["total"], body["meta"]["totalPages"]) == (None, None)
    assert body["request"] == {"includeTotals": False}
    assert hashes(body) == reference(TransferFilter())[200:300]
    assert body["meta"]["hasMore"] is False
    far = api.get("/api/transfers", params={**params, "page": "50"}).json()
    assert far["data"] == []


def test_next_cursor_walks_by_keyset_and_ignores_page(api: TestClient) -> None:
    seen: list[tuple[str, str]] = []
    params: dict[str, str] = {"address": HOLDERS[2].upper().replace("0X", "0x"), "pageSize": "9"}
    while True:
        body = api.get("/api/transfers", params=params).json()
        seen += hashes(body)
        cursor = body["meta"]["nextCursor"]
        if cursor is None:
            break
        params |= {"cursor": cursor, "page": "40"}  # with a cursor, page is not used
    assert seen == reference(TransferFilter(address=HOLDERS[2]))


def test_filters(api: TestClient) -> None:
    mid = POLYGON[len(POLYGON) // 2]
    block = mid.block_number
    cases: list[tuple[dict[str, str], TransferFilter]] = [
        ({"address": HOLDERS[1]}, TransferFilter(address=HOLDERS[1])),
        ({"hash": mid.tx_hash.upper().replace("0X", "0x")}, TransferFilter(tx_hash=mid.tx_hash)),
        ({"block": str(block)}, TransferFilter(from_block=block, to_block=block)),
        (
            {"chainId": "137", "startBlock": str(block)},
            TransferFilter(chain_id=137, from_block=block),
        ),
        ({"endBlock": str(block)}, TransferFilter(to_block=block)),
        (
            {"chainId": "56", "address": HOLDERS[0], "sort": "ASC"},
            TransferFilter(chain_id=56, address=HOLDERS[0]),
        ),
    ]
    for params, f in cases:
        order = Order.OLDEST_FIRST if params.get("sort") == "ASC" else Order.NEWEST_FIRST
        body = api.get("/api/transfers", params={**params, "pageSize": "100"}).json()
        assert hashes(body) == reference(f, order)[:100], params
        assert body["meta"]["total"] == len(reference(f)), params
        assert body["totals"]["allTimeTotal"] == len(ROWS if f.chain_id is None else [
            row for row in ROWS if row.chain_id == f.chain_id
        ])  # fmt: skip
    body = api.get("/api/transfers", params={"block": str(mid.block_number)}).json()
    assert body["filters"]["startBlock"] == body["filters"]["endBlock"] == mid.block_number


REFUSALS = [
    ({"chainId": "999"}, "invalid_chain", "chainId"),
    ({"chainId": "polygon"}, "invalid_chain", "chainId"),
    ({"chainId": "1.5"}, "invalid_chain", "chainId"),
    ({"address": "0x1234"}, "invalid_address", "address"),
    ({"address": "0x" + "g" * 40}, "invalid_address", "address"),
    ({"hash": "0x" + "1" * 63}, "invalid_tx_hash", "hash"),
    ({"startBlock": "10", "endBlock": "9"}, "invalid_block_range", "startBlock"),
    ({"startBlock": "-1"}, "invalid_block_range", "startBlock"),
    ({"endBlock": "ten"}, "invalid_block_range", "endBlock"),
    ({"block": "9" * 30}, "invalid_block_range", "block"),
    ({"page": "0"}, "invalid_page", "page"),
    ({"page": "-2"}, "invalid_page", "page"),
    ({"page": "two"}, "invalid_page", "page"),
    ({"pageSize": "many"}, "invalid_page_size", "pageSize"),
    ({"pageSize": "1e3"}, "invalid_page_size", "pageSize"),
    ({"sort": "newest"}, "invalid_sort", "sort"),
    ({"cursor": "not-a-cursor"}, "invalid_cursor", "cursor"),
]


@pytest.mark.parametrize(("params", "code", "field"), REFUSALS)
def test_bad_input_is_a_400_naming_the_parameter(
    api: TestClient, params: dict[str, str], code: str, field: str
) -> None:
    response = api.get("/api/transfers", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert "etag" not in response.headers


def test_a_cursor_from_another_query_or_altered_is_refused(api: TestClient) -> None:
    first = api.get("/api/transfers", params={"chainId": "137", "pageSize": "3"}).json()
    cursor = first["meta"]["nextCursor"]
    other = api.get("/api/transfers", params={"chainId": "56", "cursor": cursor})
    assert other.json()["error"]["code"] == "invalid_cursor"
    flipped = api.get("/api/transfers", params={"chainId": "137", "cursor": cursor, "sort": "asc"})
    assert flipped.json()["error"]["code"] == "invalid_cursor"
    altered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    forged = api.get("/api/transfers", params={"chainId": "137", "cursor": altered})
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "invalid_cursor")
    ok = api.get("/api/transfers", params={"chainId": "137", "cursor": cursor, "pageSize": "3"})
    assert hashes(ok.json()) == reference(TransferFilter(chain_id=137))[3:6]


def test_etag_if_none_match_and_cache_control(api: TestClient) -> None:
    first = api.get("/api/transfers", params={"chainId": "137"})
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert 0 <= int(first.headers["cache-control"].split("=")[1]) <= 15
    again = api.get("/api/transfers", params={"chainId": "137"})
    assert (again.headers["etag"], again.content) == (etag, first.content)  # cached bytes
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = api.get(
            "/api/transfers", params={"chainId": "137"}, headers={"If-None-Match": header}
        )
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag
    changed = api.get("/api/transfers", params={"chainId": "137"}, headers={"If-None-Match": '"x"'})
    assert changed.status_code == 200


def test_cache_off_still_validates(config: Config) -> None:
    transfer_data.load(config, ROWS)
    url = config.settings.database_url
    assert url is not None
    uncached = make_config(url.get_secret_value(), TOKENPULSE_CACHE_TTL_TRANSFERS_SECONDS="0")
    with TestClient(create_app(uncached)) as client:
        first = client.get("/api/transfers")
        assert first.headers["cache-control"] == "no-cache"
        again = client.get("/api/transfers", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        health = client.get("/api/cache-health").json()["caches"]
        assert "rest_transfers" not in health


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def listening(client: TestClient) -> None:
    wait_for(
        lambda: client.get("/api/cache-health").json()["notifications"]["connected"],
        "the notification listener",
    )


def test_a_committed_batch_refreshes_pages_and_totals(api: TestClient, config: Config) -> None:
    listening(api)
    before = api.get("/api/transfers", params={"chainId": "137"}).json()
    other = api.get("/api/transfers", params={"chainId": "1"}).json()
    top = transfer_data.tops(config, ROWS)[137]
    new = transfer(137, top + 5, 0, sender=HOLDERS[5], receiver=HOLDERS[4], value=77)
    transfer_data.commit_batch(config, [new])

    def refreshed() -> bool:
        body = api.get("/api/transfers", params={"chainId": "137"}).json()
        return bool(body["data"]) and body["data"][0]["hash"] == new.tx_hash

    wait_for(refreshed, "the new transfer in /api/transfers")
    after = api.get("/api/transfers", params={"chainId": "137"}).json()
    assert after["meta"]["total"] == before["meta"]["total"] + 1
    assert after["totals"]["allTimeTotal"] == before["totals"]["allTimeTotal"] + 1
    all_chains = api.get("/api/transfers").json()
    assert all_chains["data"][0]["hash"] == new.tx_hash
    # Another chain's entry was not dropped: same cached bytes.
    assert (
        api.get("/api/transfers", params={"chainId": "1"}).json()["timestamp"] == other["timestamp"]
    )
    sections = api.get("/api/cache-health").json()["caches"]
    assert sections["transfer_totals"]["invalidations"] >= 1


def test_cors_allows_the_configured_origins_only(api: TestClient) -> None:
    allowed = {"Origin": "http://localhost:5173"}
    ok = api.get("/api/transfers", headers=allowed)
    assert ok.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert ok.headers["access-control-allow-credentials"] == "true"
    refused = api.get("/api/transfers", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 200  # the legacy server answered an HTML 500
    assert "access-control-allow-origin" not in refused.headers
    preflight = {"Access-Control-Request-Method": "GET"}
    good = api.options("/api/transfers", headers={**allowed, **preflight})
    assert good.status_code == 200
    assert good.headers["access-control-max-age"] == "86400"
    bad = api.options("/api/transfers", headers={"Origin": "https://evil.example", **preflight})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "cors_origin_refused"
    method = api.options(
        "/api/transfers", headers={**allowed, "Access-Control-Request-Method": "DELETE"}
    )
    assert (method.status_code, method.json()["error"]["code"]) == (400, "cors_refused")


def test_partial_coverage_is_said(config: Config) -> None:
    transfer_data.load(config, ROWS, cover=False)
    with TestClient(create_app(config)) as client:
        body = client.get("/api/transfers", params={"chainId": "137"}).json()
    assert body["totals"]["accuracy"] == "partial"
    assert body["stale"] is True
    codes = [warning["code"] for warning in body["warnings"]]
    assert codes == ["STORE_DATA_NOT_READY", "TOTALS_PARTIAL"]
