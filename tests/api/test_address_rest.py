"""One address over REST (/api/address/:address, the legacy shape) and GraphQL (address):
balances from stored transfers with their accuracy, counts, the 20 newest transfers."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.store.transfer_sql import Order, TransferFilter
from tests.api import transfer_data
from tests.api.test_transfers_pages import ROWS, SELF
from tests.api.transfer_data import expected

HOLDER = SELF.from_address  # has a self-transfer, which nets to zero and counts once


@pytest.fixture
def api(config: Config) -> Iterator[TestClient]:
    transfer_data.load(config, ROWS)
    with TestClient(create_app(config)) as client:
        yield client


def figures(chain_id: int) -> tuple[int, int, int]:
    mine = [r for r in ROWS if r.chain_id == chain_id and HOLDER in (r.from_address, r.to_address)]
    received = sum(int(r.value) for r in mine if r.to_address == HOLDER)
    sent = sum(int(r.value) for r in mine if r.from_address == HOLDER)
    return received, sent, len(mine)


def test_rest_document(api: TestClient, config: Config) -> None:
    response = api.get(f"/api/address/{HOLDER.upper().replace('0X', '0x')}")
    assert response.status_code == 200
    assert response.headers["etag"]
    body = response.json()
    assert set(body) == {
        "address", "tokenAddress", "balances", "totalBalance", "totalBalanceRaw", "activity",
        "timestamp", "stale", "source", "accuracy",
    }  # fmt: skip
    assert (body["address"], body["tokenAddress"]) == (HOLDER, config.token.address)
    assert (body["source"], body["accuracy"], body["stale"]) == ("store", "exact", False)
    assert [item["chainId"] for item in body["balances"]] == [c.id for c in config.enabled_chains]
    total = 0
    for item in body["balances"]:
        received, sent, count = figures(item["chainId"])
        total += received - sent
        assert item | {"firstTime": None, "lastTime": None} == {
            "chainId": item["chainId"], "chainName": item["chainName"],
            "balanceRaw": str(received - sent),
            "balance": float(round(Fraction(received - sent, 10**18), 6)),
            "receivedRaw": str(received), "sentRaw": str(sent), "transferCount": count,
            "firstTime": None, "lastTime": None, "stale": False, "source": "store",
            "accuracy": "exact",
        }  # fmt: skip
    assert body["totalBalanceRaw"] == str(total)
    activity = body["activity"]
    mine = expected(ROWS, TransferFilter(address=HOLDER), Order.NEWEST_FIRST)
    assert activity["transferCount"] == len(mine)
    assert activity["chainCount"] == len({row.chain_id for row in mine})
    recent = activity["recentTransfers"]
    assert [(r["hash"], r["logIndex"]) for r in recent] == [
        (row.tx_hash, str(row.log_index)) for row in mine[:20]
    ]
    assert recent[0]["tokenSymbol"] == "BZR"


def test_balances_are_partial_without_complete_coverage(config: Config) -> None:
    transfer_data.load(config, ROWS, cover=False)
    with TestClient(create_app(config)) as client:
        body = client.get(f"/api/address/{HOLDER}").json()
    assert body["accuracy"] == "partial"
    assert {item["accuracy"] for item in body["balances"]} == {"partial"}


def test_an_unknown_address_has_zero_balances(api: TestClient) -> None:
    body = api.get("/api/address/0x" + "77" * 20).json()
    assert body["activity"] == {"transferCount": 0, "chainCount": 0, "recentTransfers": []}
    assert {item["balanceRaw"] for item in body["balances"]} == {"0"}


@pytest.mark.parametrize("bad", ["0x123", "hello", "0x" + "g" * 40, "0x" + "1" * 41])
def test_invalid_address_is_a_400(api: TestClient, bad: str) -> None:
    response = api.get(f"/api/address/{bad}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_address"
    assert response.json()["error"]["field"] == "address"


QUERY = """query($a: String!) { address(address: $a) {
  address totalBalance transferCount chainCount accuracy
  balances { chainId balance received sent transferCount accuracy chain { name } }
  recentTransfers { id }
} }"""


def test_graphql_address(api: TestClient) -> None:
    def run(address: str) -> dict[str, Any]:
        return api.post("/graphql", json={"query": QUERY, "variables": {"a": address}}).json()  # type: ignore[no-any-return]

    found = run(HOLDER)["data"]["address"]
    polygon = next(item for item in found["balances"] if item["chainId"] == 137)
    received, sent, count = figures(137)
    assert polygon == {
        "chainId": 137, "balance": str(received - sent), "received": str(received),
        "sent": str(sent), "transferCount": count, "accuracy": "EXACT",
        "chain": {"name": "Polygon"},
    }  # fmt: skip
    assert len(found["recentTransfers"]) == 20
    assert found["accuracy"] == "EXACT"
    error = run("0xnope")["errors"][0]
    assert error["extensions"] == {"code": "invalid_address", "field": "address"}
