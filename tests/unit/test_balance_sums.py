"""The write path's per-address balance deltas, summed by the client (app/store/transfers.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from app.domain import Transfer
from app.store.transfers import _copy_row, balance_sums, balance_sums_text

A, B, C = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20
BIG = Decimal(2**256 - 1)  # 78 digits: Decimal arithmetic in the default context keeps 28


def transfer(
    sender: str, receiver: str, value: Decimal, log_index: int, chain_id: int = 1
) -> Transfer:
    return Transfer(
        chain_id=chain_id,
        block_time=datetime(2026, 1, 1, tzinfo=UTC),
        block_number=10,
        block_hash="0x" + "11" * 32,
        tx_hash="0x" + "22" * 32,
        log_index=log_index,
        from_address=sender,
        to_address=receiver,
        value=value,
        tx_index=0,
    )


def rows(*transfers: Transfer) -> list[tuple[object, ...]]:
    return [_copy_row(t, "rpc") for t in transfers]


def test_sums_are_exact_for_uint256_amounts() -> None:
    sums = balance_sums(
        rows(transfer(A, B, BIG, 0), transfer(A, B, BIG, 1), transfer(B, C, Decimal(1), 2))
    )
    a, b, c = (bytes.fromhex(x[2:]) for x in (A, B, C))
    assert sums[(1, a)] == [0, 2 * (2**256 - 1), 2]
    assert sums[(1, b)] == [2 * (2**256 - 1), 1, 3]
    assert sums[(1, c)] == [1, 0, 1]


def test_a_self_transfer_counts_once_and_nets_to_zero() -> None:
    a = bytes.fromhex(A[2:])
    assert balance_sums(rows(transfer(A, A, Decimal(5), 0))) == {(1, a): [5, 5, 1]}


def test_chains_are_kept_apart() -> None:
    sums = balance_sums(
        rows(transfer(A, B, Decimal(3), 0, chain_id=1), transfer(A, B, Decimal(4), 0, chain_id=10))
    )
    assert len(sums) == 4
    assert sums[(10, bytes.fromhex(B[2:]))] == [4, 0, 1]


def test_copy_text_escapes_bytea_for_copy() -> None:
    text = balance_sums_text(rows(transfer(A, B, BIG, 0))).decode()
    lines = text.splitlines()
    assert f"1\t\\\\x{'aa' * 20}\t0\t{2**256 - 1}\t1" in lines
    assert f"1\t\\\\x{'bb' * 20}\t{2**256 - 1}\t0\t1" in lines
    assert text.endswith("\n")
