"""Window sizing and sealing rules (app.ingest.windows), pure: no database, no network."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from app.ingest.sources import Fetched, probe_offset
from app.ingest.windows import (
    Decision,
    TooDense,
    WindowSizer,
    decide,
    describe,
    needs_proof,
    signature,
)
from app.upstreams.errors import RangeTooLarge
from app.upstreams.logs import ParsedLog

WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def entry(block: int, log_index: int = 0) -> ParsedLog:
    return ParsedLog(
        chain_id=1,
        block_number=block,
        block_hash="0x" + f"{block:064x}",
        block_time=WHEN,
        tx_hash="0x" + f"{block * 1000 + log_index:064x}",
        log_index=log_index,
        tx_index=0,
        from_address="0x" + "a1" * 20,
        to_address="0x" + "b2" * 20,
        value=1,
    )


def fetched(lo: int, hi: int, *blocks: int, complete: bool = True) -> Fetched:
    logs = [entry(block, index) for index, block in enumerate(blocks)]
    return Fetched(lo, hi, logs=logs, complete=complete, pages=1, received=len(logs))


# -- sizing ---------------------------------------------------------------------------------


def test_grows_by_doubling_up_to_the_cap() -> None:
    sizer = WindowSizer(1_000, 3_000)
    sizer.grow()
    assert sizer.size == 2_000
    sizer.grow()
    sizer.grow()
    assert sizer.size == 3_000


def test_initial_size_is_clamped_to_the_cap() -> None:
    assert WindowSizer(5_000, 2_000).size == 2_000


def test_refusal_without_hints_bisects() -> None:
    sizer = WindowSizer(1_000, 10_000)
    sizer.refused(100, 1_099, RangeTooLarge("Query Timeout occured"))
    assert sizer.size == 500
    assert sizer.cap == 10_000  # no stated limit: growth may try again later


def test_refusal_honours_the_suggested_range() -> None:
    sizer = WindowSizer(10_000, 100_000)
    sizer.refused(100, 10_099, RangeTooLarge("try [0x64, 0x12b]", suggested=(100, 299)))
    assert sizer.size == 200


def test_a_suggestion_for_another_start_falls_back_to_bisection() -> None:
    sizer = WindowSizer(1_000, 100_000)
    sizer.refused(100, 1_099, RangeTooLarge("hint", suggested=(0, 50)))
    assert sizer.size == 500


def test_a_stated_limit_caps_every_later_window() -> None:
    sizer = WindowSizer(10_000, 100_000)
    sizer.refused(0, 9_999, RangeTooLarge("blocks distance: 2000", max_span=2_000))
    assert (sizer.size, sizer.cap) == (2_000, 2_000)
    sizer.grow()
    assert sizer.size == 2_000


def test_one_block_that_is_still_too_large_is_an_error() -> None:
    sizer = WindowSizer(1, 10)
    refusal = RangeTooLarge("too big")
    with pytest.raises(RangeTooLarge):
        sizer.refused(5, 5, refusal)


def test_split_after_ten_full_pages_aims_below_the_last_block() -> None:
    sizer = WindowSizer(100_000, 1_000_000)
    sizer.split(1_000, 1_600)
    assert sizer.size == 600


# -- sealing --------------------------------------------------------------------------------


def test_an_empty_answer_seals_the_whole_window() -> None:
    assert decide(fetched(10, 20), None) == Decision(20, store=True)


def test_rows_seal_up_to_the_block_before_the_last_one() -> None:
    decision = decide(fetched(10, 20, 11, 12, 15, 15), None)
    assert decision == Decision(14, store=True)


def test_a_proven_answer_seals_the_whole_window() -> None:
    answer = fetched(10, 20, 11, 15)
    answer.proven = True
    assert decide(answer, None) == Decision(20, store=True)


def test_nothing_past_the_first_block_seals_nothing_until_read_twice_alike() -> None:
    first = fetched(10, 20, 10, 10)
    decision = decide(first, None)
    assert decision == Decision(9, store=True, seen=signature(first))
    assert not decision.progressed(10)
    assert decide(fetched(10, 20, 10, 10), signature(first)) == Decision(20, store=True)


def test_a_second_read_that_differs_does_not_seal() -> None:
    cut, whole = fetched(10, 20, 10), fetched(10, 20, 10, 10)
    assert decide(whole, signature(cut)) == Decision(9, store=True, seen=signature(whole))


def test_only_skipped_items_prove_nothing() -> None:
    answer = fetched(10, 20)
    answer.received, answer.skipped_erc721 = 1, 1  # an NFT transfer, somewhere in 10..20
    assert not answer.exact
    assert decide(answer, None).sealed_to == 9


def test_which_answers_are_worth_a_proof() -> None:
    assert needs_proof(fetched(10, 20, 10), last_window=False)  # would seal nothing
    assert needs_proof(fetched(10, 20, 11, 15), last_window=True)  # ends the range
    assert not needs_proof(fetched(10, 20, 11, 15), last_window=False)  # the next read will
    assert not needs_proof(fetched(10, 20), last_window=True)  # already exact
    rejected = fetched(10, 20, 10)
    rejected.rejected = Counter({"bad_data": 1})
    assert not needs_proof(rejected, last_window=True)


def test_the_probe_page_starts_right_after_the_items_read() -> None:
    assert probe_offset(0) is None
    assert probe_offset(7) == 7  # page 2 of 7
    assert probe_offset(2_500) == 625  # page 5 of 625
    assert probe_offset(1_009) == 1  # a prime: page 1,010 of 1
    assert probe_offset(9_999) == 1
    assert probe_offset(10_000) is None
    for received in range(1, 10_000, 37):
        offset = probe_offset(received)
        assert offset is not None
        assert received % offset == 0
        assert offset <= 1_000
        assert (received // offset + 1) * offset <= 10_000


def test_rejections_seal_and_store_nothing() -> None:
    answer = fetched(10, 20, 12)
    answer.rejected = Counter({"bad_quantity": 2})
    assert decide(answer, None) == Decision(9, store=False)
    assert "bad_quantity: 2" in describe(answer)


def test_an_inconsistent_answer_seals_nothing() -> None:
    answer = fetched(10, 20, 15, 12)
    answer.check_order()
    assert answer.problem is not None
    assert decide(answer, None) == Decision(9, store=False)
    assert "out of order" in describe(answer)


def test_ten_full_pages_seal_the_blocks_before_the_last() -> None:
    assert decide(fetched(10, 20, 11, 13, complete=False), None).sealed_to == 12


def test_ten_full_pages_of_one_block_cannot_be_paged() -> None:
    with pytest.raises(TooDense):
        decide(fetched(10, 20, 10, 10, complete=False), None)
