"""Search over REST (/api/search, the legacy shape) and GraphQL (search): addresses,
transaction hashes and block numbers from the store; every refusal a coded 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from tests.api import transfer_data
from tests.api.test_transfers_pages import MID, ROWS, TX
from tests.api.transfer_data import HOLDERS


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    transfer_data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def search(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    assert "etag" in response.headers
    body: dict[str, Any] = response.json()
    return body


def involving(address: str, chain_id: int | None = None) -> list[Any]:
    return [
        row for row in ROWS
        if address in (row.from_address, row.to_address)
        and (chain_id is None or row.chain_id == chain_id)
    ]  # fmt: skip


def test_address(api: TestClient) -> None:
    body = search(api, query=HOLDERS[2].upper().replace("0X", "0x"))
    mine = involving(HOLDERS[2])
    chains = len({row.chain_id for row in mine})
    assert body == {
        "success": True, "searchType": "address", "type": "address", "query": HOLDERS[2],
        "chainId": None, "source": "database", "found": True, "message": None,
        "data": {
            "address": HOLDERS[2], "transferCount": len(mine), "chainCount": chains,
            "message": f"{len(mine)} transfers on {chains} chains",
        },
    }  # fmt: skip
    narrowed = search(api, query=HOLDERS[2], chainId="56")
    assert narrowed["data"]["transferCount"] == len(involving(HOLDERS[2], 56))
    assert narrowed["data"]["chainCount"] == 1


def test_transaction(api: TestClient) -> None:
    logs = sorted((row for row in ROWS if row.tx_hash == TX), key=lambda row: row.log_index)
    body = search(api, query=TX, type="transaction")
    data = body["data"]
    assert (body["found"], body["source"], body["searchType"]) == (True, "database", "transaction")
    first = logs[0]
    assert {key: data[key] for key in data if key != "transfers"} == {
        "hash": TX, "blockNumber": str(first.block_number),
        "timeStamp": str(int(first.block_time.timestamp())), "from": first.from_address,
        "to": first.to_address, "value": str(first.value), "chainId": first.chain_id,
        "chainName": {1: "Ethereum", 56: "BSC", 137: "Polygon"}[first.chain_id],
    }  # fmt: skip
    assert [item["logIndex"] for item in data["transfers"]] == [str(r.log_index) for r in logs]
    elsewhere = search(api, query=TX, chainId="25")
    assert (elsewhere["found"], elsewhere["source"], elsewhere["data"]) == (False, "none", None)


def test_block(api: TestClient) -> None:
    block = MID.block_number
    counts = {
        chain_id: n
        for chain_id in (1, 56, 137)
        if (n := sum(1 for r in ROWS if r.chain_id == chain_id and r.block_number == block))
    }
    data = search(api, query=f"000{block}")["data"]
    assert data["blockNumber"] == block
    assert data["transferCount"] == sum(counts.values())
    assert data["chainCount"] == len(counts)
    assert data["chainId"] == (137 if len(counts) == 1 else None)
    assert [item["chainId"] for item in data["chains"]] == sorted(counts)
    empty = search(api, query="1")
    assert (empty["found"], empty["searchType"], empty["message"]) == (
        False, "block", "nothing stored for this block",
    )  # fmt: skip


REFUSALS = [
    ({}, "invalid_query", "query"),
    ({"query": "   "}, "invalid_query", "query"),
    ({"query": "vitalik.eth"}, "invalid_query", "query"),
    ({"query": "hello"}, "invalid_query", "query"),
    ({"query": "0x1234"}, "invalid_query", "query"),
    ({"query": "9" * 30}, "invalid_query", "query"),
    ({"query": HOLDERS[0], "type": "transaction"}, "invalid_query", "type"),
    ({"query": "12", "type": "ens"}, "invalid_query", "type"),
    ({"query": "12", "chainId": "999"}, "invalid_chain", "chainId"),
]


@pytest.mark.parametrize(("params", "code", "field"), REFUSALS)
def test_refusals(api: TestClient, params: dict[str, str], code: str, field: str) -> None:
    response = api.get("/api/search", params=params)
    assert response.status_code == 400
    assert response.json()["error"] | {"message": ""} == {
        "code": code,
        "field": field,
        "message": "",
    }


GRAPHQL = """query($q: String!, $c: SafeInt) { search(query: $q, chainId: $c) {
  kind query found
  address { transferCount chainCount }
  transfers { logIndex }
  block { blockNumber transferCount chains { chainId transferCount chain { name } } }
} }"""


def test_graphql_search(api: TestClient) -> None:
    def run(**variables: Any) -> dict[str, Any]:
        body = api.post("/graphql", json={"query": GRAPHQL, "variables": variables}).json()
        return body  # type: ignore[no-any-return]

    address = run(q=HOLDERS[2])["data"]["search"]
    assert (address["kind"], address["found"]) == ("ADDRESS", True)
    assert address["address"]["transferCount"] == len(involving(HOLDERS[2]))
    tx = run(q=TX)["data"]["search"]
    assert tx["kind"] == "TRANSACTION"
    assert len(tx["transfers"]) == sum(1 for r in ROWS if r.tx_hash == TX)
    block = run(q=str(MID.block_number))["data"]["search"]["block"]
    assert block["blockNumber"] == MID.block_number
    assert {c["chain"]["name"] for c in block["chains"]} >= {"Polygon"}
    missing = run(q="0x" + "ab" * 32)["data"]["search"]
    assert (missing["found"], missing["transfers"]) == (False, [])
    for variables, code in (
        ({"q": "x.eth"}, "invalid_query"),
        ({"q": "1", "c": 5}, "invalid_chain"),
    ):
        assert run(**variables)["errors"][0]["extensions"]["code"] == code
