"""Fixtures for the tests against a real anvil node (Foundry's local Ethereum client).

``make test`` installs anvil from the npm registry into .tools/anvil (tests/anvil/install.sh);
``TOKENPULSE_ANVIL`` names another binary. Without one the tests skip, except under CI, where
they fail: there the install step must have put it in place.

Each test gets a fresh node (it starts in ~50 ms) on a free loopback port, so reorgs and mined
blocks never leak between tests. The helpers speak raw JSON-RPC over httpx: anvil's default
accounts are unlocked, so ``eth_sendTransaction`` needs no signing, and with automine every
transaction is mined at once in its own block. The ERC-20 is deployed from the bytecode
committed in contracts/TestToken.json; calldata is ABI-encoded by hand (addresses, uint256
and their dynamic arrays are all it takes).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain import TRANSFER_TOPIC0

REPO = Path(__file__).resolve().parents[2]
INSTALLED = REPO / ".tools" / "anvil" / "node_modules" / ".bin" / "anvil"
ARTIFACT = Path(__file__).resolve().parent / "contracts" / "TestToken.json"
CHAIN_ID = 31337
# anvil's `safe` is the head minus this many blocks and `finalized` the head minus twice it.
SLOTS_IN_AN_EPOCH = 2
ZERO_ADDRESS = "0x" + "0" * 40


def anvil_path() -> tuple[Path | None, str]:
    """The anvil binary to run, or None and why there is none."""
    override = os.environ.get("TOKENPULSE_ANVIL")
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path, ""
        return None, f"TOKENPULSE_ANVIL={override} is not an executable file"
    if INSTALLED.exists() and os.access(INSTALLED, os.X_OK):
        return INSTALLED, ""
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path), ""
    return None, f"anvil is not installed at {INSTALLED.relative_to(REPO)} (run `make anvil`)"


@pytest.fixture(scope="session")
def anvil_bin() -> Path:
    path, why = anvil_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; CI must run the anvil tests", pytrace=False)
        pytest.skip(why)
    return path


class RpcError(Exception):
    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.error = error
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    """One running anvil process and a JSON-RPC client for it."""

    def __init__(self, binary: Path, *, extra_args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            str(binary),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(CHAIN_ID),
            "--slots-in-an-epoch", str(SLOTS_IN_AN_EPOCH),
            "--quiet",
            *extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.http = httpx.Client(timeout=10.0)
        self._ids = 0
        self._wait_ready()
        self.accounts: list[str] = self.rpc("eth_accounts")

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"anvil exited with {self.process.returncode}: {stderr}")
            try:
                self.rpc("eth_chainId")
                return
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"anvil did not answer on {self.url} in {timeout}s") from exc
                time.sleep(0.02)

    def close(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def rpc(self, method: str, *params: Any) -> Any:
        self._ids += 1
        body = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": list(params)}
        reply = self.http.post(self.url, json=body).raise_for_status().json()
        if "error" in reply:
            raise RpcError(method, reply["error"])
        return reply["result"]

    # -- chain ---------------------------------------------------------------------------

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def block(self, tag: int | str = "latest") -> dict[str, Any]:
        block: dict[str, Any] = self.rpc(
            "eth_getBlockByNumber", hex(tag) if isinstance(tag, int) else tag, False
        )
        return block

    def mine(self, blocks: int = 1) -> int:
        """Mine empty blocks; returns the new head."""
        self.rpc("anvil_mine", hex(blocks))
        return self.block_number()

    def reorg(self, depth: int, txs: Sequence[tuple[dict[str, Any], int]] = ()) -> None:
        """Replace the last ``depth`` blocks with as many new ones (anvil_reorg).

        Transactions of the dropped blocks are gone; ``txs`` are (transaction, block offset)
        pairs put into the new blocks, offset 0 being the first new block.
        """
        self.rpc("anvil_reorg", depth, [[tx, offset] for tx, offset in txs])

    def logs(self, address: str, from_block: int = 0, to_block: int | str = "latest") -> list[Any]:
        """Every Transfer-topic log of ``address``: the node's own truth, for comparison."""
        log_filter = {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block) if isinstance(to_block, int) else to_block,
            "address": address,
            "topics": [TRANSFER_TOPIC0],
        }
        result: list[Any] = self.rpc("eth_getLogs", log_filter)
        return result

    # -- transactions --------------------------------------------------------------------

    def send(self, sender: str, to: str | None, data: str, **fields: Any) -> Receipt:
        """Send from an unlocked account; automine mines it at once. Fails on a revert."""
        tx: dict[str, Any] = {"from": sender, "data": data, **fields}
        if to is not None:
            tx["to"] = to
        tx_hash: str = self.rpc("eth_sendTransaction", tx)
        receipt = self.receipt(tx_hash)
        if receipt["status"] != "0x1":
            raise AssertionError(f"transaction {tx_hash} reverted: {receipt}")
        return Receipt(receipt)

    def receipt(self, tx_hash: str, timeout: float = 5.0) -> dict[str, Any]:
        """The receipt, once mined: automine answers eth_sendTransaction a moment before."""
        deadline = time.monotonic() + timeout
        while (receipt := self.rpc("eth_getTransactionReceipt", tx_hash)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"transaction {tx_hash} not mined in {timeout}s")
            time.sleep(0.005)
        result: dict[str, Any] = receipt
        return result


@dataclass(frozen=True)
class Receipt:
    raw: dict[str, Any]

    @property
    def tx_hash(self) -> str:
        return str(self.raw["transactionHash"]).lower()

    @property
    def block_number(self) -> int:
        return int(self.raw["blockNumber"], 16)

    @property
    def block_hash(self) -> str:
        return str(self.raw["blockHash"]).lower()

    @property
    def contract_address(self) -> str:
        return str(self.raw["contractAddress"]).lower()

    def transfer_log_indexes(self) -> list[int]:
        """Log indexes of the ERC-20 (three-topic) Transfer logs, in order."""
        return [
            int(log["logIndex"], 16)
            for log in self.raw["logs"]
            if log["topics"][0] == TRANSFER_TOPIC0 and len(log["topics"]) == 3
        ]


# -- ABI encoding (just what TestToken needs) ----------------------------------------------


def word(value: int) -> str:
    return f"{value:064x}"


def address_word(address: str) -> str:
    return address[2:].lower().rjust(64, "0")


def encode_array(items: Sequence[str]) -> str:
    return word(len(items)) + "".join(items)


@dataclass(frozen=True)
class Sent:
    """One ERC-20 transfer the test sent: what the ingestion must find."""

    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    from_address: str
    to_address: str
    value: int


class TestToken:
    """The committed TestToken contract: deployment and calldata."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    artifact: dict[str, Any] = json.loads(ARTIFACT.read_text("utf-8"))

    def __init__(
        self, node: Anvil, address: str, deployment: Receipt, owner: str, supply: int
    ) -> None:
        self.node = node
        self.address = address
        self.deployment = deployment
        self.owner = owner
        self.supply = supply

    @classmethod
    def deploy(cls, node: Anvil, supply: int, owner: str | None = None) -> TestToken:
        owner = owner or node.accounts[0]
        data = cls.artifact["bytecode"] + word(supply)
        receipt = node.send(owner, None, data)
        return cls(node, receipt.contract_address, receipt, owner, supply)

    @classmethod
    def selector(cls, signature: str) -> str:
        return "0x" + str(cls.artifact["methodIdentifiers"][signature])

    def call(self, sender: str, signature: str, *words: str) -> Receipt:
        return self.node.send(sender, self.address, self.selector(signature) + "".join(words))

    def transfer(self, sender: str, to: str, value: int) -> tuple[Receipt, list[Sent]]:
        receipt = self.call(sender, "transfer(address,uint256)", address_word(to), word(value))
        return receipt, sent(receipt, [(sender, to, value)])

    def approve(self, owner: str, spender: str, value: int) -> Receipt:
        return self.call(owner, "approve(address,uint256)", address_word(spender), word(value))

    def transfer_from(
        self, spender: str, owner: str, to: str, value: int
    ) -> tuple[Receipt, list[Sent]]:
        receipt = self.call(
            spender,
            "transferFrom(address,address,uint256)",
            address_word(owner),
            address_word(to),
            word(value),
        )
        return receipt, sent(receipt, [(owner, to, value)])

    def batch_transfer(
        self, sender: str, pairs: Sequence[tuple[str, int]]
    ) -> tuple[Receipt, list[Sent]]:
        receipt = self.node.send(sender, self.address, self.batch_calldata(pairs))
        return receipt, sent(receipt, [(sender, to, value) for to, value in pairs])

    def batch_calldata(self, pairs: Sequence[tuple[str, int]]) -> str:
        recipients = encode_array([address_word(to) for to, _ in pairs])
        amounts = encode_array([word(value) for _, value in pairs])
        head = word(64) + word(64 + len(recipients) // 2)  # offsets of the two arrays
        signature = "batchTransfer(address[],uint256[])"
        return self.selector(signature) + head + recipients + amounts

    def transfer_calldata(self, to: str, value: int) -> str:
        return self.selector("transfer(address,uint256)") + address_word(to) + word(value)

    def nft_transfer(self, sender: str, to: str, token_id: int) -> Receipt:
        """An ERC-721-style Transfer (four topics) from the token's own address."""
        return self.call(sender, "nftTransfer(address,uint256)", address_word(to), word(token_id))

    def mint_sent(self) -> list[Sent]:
        """The constructor's mint: a Transfer from the zero address to the owner."""
        return sent(self.deployment, [(ZERO_ADDRESS, self.owner, self.supply)])


def sent(receipt: Receipt, transfers: Sequence[tuple[str, str, int]]) -> list[Sent]:
    """Pair the transfers a transaction was asked to make with its receipt's Transfer logs."""
    indexes = receipt.transfer_log_indexes()
    assert len(indexes) == len(transfers), (indexes, transfers)
    return [
        Sent(
            tx_hash=receipt.tx_hash,
            log_index=index,
            block_number=receipt.block_number,
            block_hash=receipt.block_hash,
            from_address=sender.lower(),
            to_address=to.lower(),
            value=value,
        )
        for index, (sender, to, value) in zip(indexes, transfers, strict=True)
    ]


def send_everything(token: TestToken) -> list[Sent]:
    """Every kind of transfer, each transaction in its own block; returns what was sent.

    The mint, a transfer, an approved transferFrom, empty blocks, four transfers in one
    transaction, an ERC-721-style four-topic log (not a transfer: not returned), two of value 0.
    """
    node = token.node
    owner, alice, bob, carol, dave = node.accounts[:5]
    expected = token.mint_sent()
    expected += token.transfer(owner, alice, 1_000 * 10**18)[1]
    token.approve(owner, bob, 500)
    expected += token.transfer_from(bob, owner, carol, 300)[1]
    node.mine(2)  # blocks with no transfer between ones with
    _, batch = token.batch_transfer(owner, [(alice, 1), (bob, 2), (carol, 3), (alice, 4)])
    assert len({s.log_index for s in batch}) == 4  # one transaction, four distinct log indexes
    expected += batch
    token.nft_transfer(owner, dave, 7)  # four topics: must be skipped, not counted
    expected += token.transfer(alice, dave, 0)[1]  # zero value is still a transfer
    expected += token.transfer(dave, alice, 0)[1]
    return expected


def node_transfers(node: Anvil, token: str, from_block: int = 0) -> list[Sent]:
    """The node's own view (eth_getLogs) of the token's ERC-20 transfers, in chain order."""
    return [
        Sent(
            tx_hash=log["transactionHash"].lower(),
            log_index=int(log["logIndex"], 16),
            block_number=int(log["blockNumber"], 16),
            block_hash=log["blockHash"].lower(),
            from_address="0x" + log["topics"][1][-40:].lower(),
            to_address="0x" + log["topics"][2][-40:].lower(),
            value=int(log["data"], 16),
        )
        for log in node.logs(token, from_block)
        if len(log["topics"]) == 3
    ]


@pytest.fixture
def anvil(anvil_bin: Path) -> Iterator[Anvil]:
    node = Anvil(anvil_bin)
    try:
        yield node
    finally:
        node.close()
