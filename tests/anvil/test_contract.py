"""The committed TestToken artifact is the compiled committed source, and behaves as an ERC-20."""

from __future__ import annotations

import json

from app.domain import TRANSFER_TOPIC0
from tests.anvil.conftest import ARTIFACT, Anvil, TestToken, address_word, word
from tests.anvil.contracts import build


def test_artifact_is_built_from_the_committed_source() -> None:
    artifact = json.loads(ARTIFACT.read_text("utf-8"))
    assert artifact["sourceSha256"] == build.source_sha256(), (
        "TestToken.sol changed without rebuilding TestToken.json:"
        " run .venv/bin/python -m tests.anvil.contracts.build"
    )
    assert artifact["bytecode"].startswith("0x6080")
    assert {"transfer(address,uint256)", "batchTransfer(address[],uint256[])"} <= set(
        artifact["methodIdentifiers"]
    )


def balance(node: Anvil, token: TestToken, holder: str) -> int:
    data = TestToken.selector("balanceOf(address)") + address_word(holder)
    return int(node.rpc("eth_call", {"to": token.address, "data": data}, "latest"), 16)


def test_token_moves_balances_and_emits_the_expected_logs(anvil: Anvil) -> None:
    owner, alice, bob = anvil.accounts[:3]
    token = TestToken.deploy(anvil, 1_000)
    token.batch_transfer(owner, [(alice, 100), (bob, 50)])
    token.approve(alice, bob, 30)
    token.transfer_from(bob, alice, bob, 30)
    assert [balance(anvil, token, a) for a in (owner, alice, bob)] == [850, 70, 80]

    nft = token.nft_transfer(owner, bob, 7)
    [log] = nft.raw["logs"]
    assert log["topics"][0] == TRANSFER_TOPIC0
    assert log["topics"][3] == "0x" + word(7)  # the token id is indexed: four topics
    assert log["data"] == "0x"
    assert balance(anvil, token, bob) == 80  # an NFT-style event moves no ERC-20 balance
