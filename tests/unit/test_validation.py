"""The validation suite's pure parts: variance, the comparison rules, the report's JSON and
Markdown, the counted window, and the counting helpers' splitting and proof offsets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.domain import Figure
from app.ingest.figures import pick_window
from app.ops import validation
from app.ops.validation import Ours, Report, Status, Theirs
from app.upstreams import counts
from app.upstreams.errors import RangeTooLarge

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def theirs(value: int | None, *, error: str | None = None, lo: int | None = None) -> Theirs:
    hi = None if lo is None else lo + 99
    return Theirs(value, "etherscan", NOW, 60.0, error is not None, error, lo, hi)


@pytest.mark.parametrize(
    ("ours", "theirs_value", "expected"),
    [(100, 100, 0.0), (98, 100, 0.02), (103, 100, 0.03), (1, 0, 1.0), (0, 0, 0.0)],
)
def test_variance(ours: int, theirs_value: int, expected: float) -> None:
    assert validation.variance(ours, theirs_value) == pytest.approx(expected)


def test_above_the_threshold_is_flagged_at_or_below_it_quiet() -> None:
    def status(ours: int) -> Status:
        return validation.compare(
            1, "Ethereum", Figure.HOLDERS, Ours(ours), theirs(1000), 0.02
        ).status

    assert status(1000) is Status.OK
    assert status(990) is Status.OK  # 1 %
    assert status(980) is Status.OK  # exactly 2 %: not above
    assert status(979) is Status.FLAGGED
    assert status(1030) is Status.FLAGGED


@pytest.mark.parametrize(
    ("ours", "upstream", "reason"),
    [
        (Ours(5), None, "no upstream figure fetched yet"),
        (Ours(5), theirs(None, error="upstream_not_on_plan"), "unavailable on the API key's plan"),
        (Ours(5), theirs(None, error="not_offered"), "offers no such figure"),
        (Ours(None, "our coverage is incomplete (2 gap(s))"), theirs(5), "incomplete"),
    ],
)
def test_meaningless_comparisons_say_why_and_never_flag(
    ours: Ours, upstream: Theirs | None, reason: str
) -> None:
    found = validation.compare(25, "Cronos", Figure.HOLDERS, ours, upstream, 0.02)
    assert found.status is Status.NOT_COMPARABLE
    assert found.reason is not None
    assert reason in found.reason
    assert found.variance is None


def test_a_stale_upstream_value_is_still_compared_and_shown_stale() -> None:
    stale = Theirs(1000, "etherscan", NOW, 7200.0, True, "upstream_unavailable")
    found = validation.compare(1, "Ethereum", Figure.SUPPLY, Ours(1000), stale, 0.02)
    assert found.status is Status.OK
    assert found.to_json()["stale"] is True


def test_report_json_and_markdown() -> None:
    comparisons = (
        validation.compare(1, "Ethereum", Figure.TRANSFERS, Ours(100), theirs(103, lo=10), 0.02),
        validation.compare(
            1,
            "Ethereum",
            Figure.HOLDERS,
            Ours(100),
            theirs(None, error="upstream_not_on_plan"),
            0.02,
        ),
        validation.compare(1, "Ethereum", Figure.SUPPLY, Ours(2**80), theirs(2**80), 0.02),
    )
    report = Report(NOW, NOW, 0.02, "cli", comparisons)
    body = json.loads(json.dumps(report.to_json()))
    assert body["flagged"] == 1
    assert body["counts"] == {"ok": 1, "flagged": 1, "not_comparable": 1}
    first = body["comparisons"][0]
    assert (first["figure"], first["status"], first["ours"], first["theirs"]) == (
        "transfers", "flagged", "100", "103",
    )  # fmt: skip
    assert (first["blockLo"], first["blockHi"]) == (10, 109)
    assert body["comparisons"][2]["ours"] == str(2**80)  # big numbers as strings
    text = validation.render_markdown(report)
    assert "## Flagged" in text
    assert "Ethereum (1) transfers: ours 100, theirs 103 (2.91%)" in text
    assert "unavailable on the API key's plan" in text
    assert text.count("| Ethereum (1) |") == 3
    assert comparisons[0].dedupe_key == "validation_variance:1:transfers"


def test_quiet_report_has_no_flagged_section() -> None:
    quiet = validation.compare(1, "Ethereum", Figure.SUPPLY, Ours(100), theirs(101), 0.02)
    text = validation.render_markdown(Report(NOW, NOW, 0.02, "nightly", (quiet,)))
    assert "## Flagged" not in text
    assert "flagged: 0 of 1" in text


def test_the_window_ends_at_the_covered_final_block_inside_its_range() -> None:
    ranges = [(100, 500), (700, 2_000)]
    assert pick_window(ranges, safe_head=1_500, span=300, first_block=100) == (1_201, 1_500)
    assert pick_window(ranges, safe_head=1_500, span=5_000, first_block=100) == (700, 1_500)
    assert pick_window(ranges, safe_head=600, span=300, first_block=100) == (201, 500)
    assert pick_window([], safe_head=1_000, span=300, first_block=100) == (701, 1_000)
    assert pick_window([], safe_head=50, span=300, first_block=100) == (100, 100)


def test_probe_offset_keeps_within_the_result_window() -> None:
    assert counts.probe_offset(0) is None
    assert counts.probe_offset(250) == 250
    assert counts.probe_offset(3_000) == 1_000
    assert counts.probe_offset(9_500) == 500
    assert counts.probe_offset(10_000) is None


async def test_bisect_halves_refused_ranges() -> None:
    asked: list[tuple[int, int]] = []

    async def count(lo: int, hi: int) -> int:
        asked.append((lo, hi))
        if hi - lo >= 25:
            raise RangeTooLarge("too many")
        return hi - lo + 1

    assert await counts.bisect(count, 0, 99) == 100
    assert asked[:3] == [(0, 99), (0, 49), (0, 24)]

    async def dense(lo: int, hi: int) -> int:
        raise RangeTooLarge("one block too dense")

    with pytest.raises(RangeTooLarge):
        await counts.bisect(dense, 5, 6)
