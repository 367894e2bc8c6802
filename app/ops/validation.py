"""The validation suite's comparison, pure: our figures against the explorers', per chain and
figure, and the report in JSON and Markdown (docs/validation.md describes both).

Variance is ``|ours - theirs| / max(theirs, 1)``. Above the threshold a comparison is
``flagged``; at or below it, ``ok``. Where the comparison would mean nothing it is
``not_comparable`` with the reason, never flagged: our side incomplete (coverage gaps below
the covered head for holders and supply, or inside the counted window for transfers), or the
upstream figure unavailable (refused on the key's plan, not offered, never fetched).
No I/O here: app.ops.validation_runner gathers the inputs and stores the outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain import Figure

ALERT_KIND = "validation_variance"
FIGURE_ORDER = (Figure.TRANSFERS, Figure.HOLDERS, Figure.SUPPLY)


class Status(enum.StrEnum):
    OK = "ok"
    FLAGGED = "flagged"
    NOT_COMPARABLE = "not_comparable"


@dataclass(frozen=True, slots=True)
class Ours:
    """Our side of one figure: a value, or why there is none worth comparing."""

    value: int | None
    reason: str | None = None  # set when value is None
    as_of_block: int | None = None  # holders/supply: the highest covered block


@dataclass(frozen=True, slots=True)
class Theirs:
    """The upstream's side: its newest good value and how its newest attempt went."""

    value: int | None
    source: str
    fetched_at: datetime | None
    age_seconds: float | None
    stale: bool  # the newest attempt failed (value is an older good one)
    last_error: str | None
    block_lo: int | None = None  # transfers: the window counted
    block_hi: int | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    chain_id: int
    chain: str  # name, for people
    figure: Figure
    status: Status
    ours: int | None
    theirs: int | None
    variance: float | None
    reason: str | None  # why not comparable; None otherwise
    upstream: Theirs | None

    @property
    def dedupe_key(self) -> str:
        """One open alert per chain and figure."""
        return f"{ALERT_KIND}:{self.chain_id}:{self.figure.value}"

    def to_json(self) -> dict[str, Any]:
        up = self.upstream
        return {
            "chainId": self.chain_id,
            "chain": self.chain,
            "figure": self.figure.value,
            "status": self.status.value,
            "ours": _num(self.ours),
            "theirs": _num(self.theirs),
            "variance": self.variance,
            "reason": self.reason,
            "source": None if up is None else up.source,
            "fetchedAt": None if up is None or up.fetched_at is None else up.fetched_at.isoformat(),
            "ageSeconds": None if up is None else up.age_seconds,
            "stale": None if up is None else up.stale,
            "lastError": None if up is None else up.last_error,
            "blockLo": None if up is None else up.block_lo,
            "blockHi": None if up is None else up.block_hi,
        }


@dataclass(frozen=True, slots=True)
class Report:
    started_at: datetime
    finished_at: datetime
    threshold: float
    origin: str  # nightly or cli
    comparisons: tuple[Comparison, ...] = field(default_factory=tuple)

    @property
    def flagged(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.status is Status.FLAGGED)

    def to_json(self) -> dict[str, Any]:
        counted = {s.value: sum(c.status is s for c in self.comparisons) for s in Status}
        return {
            "origin": self.origin,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat(),
            "threshold": self.threshold,
            "flagged": len(self.flagged),
            "counts": counted,
            "comparisons": [c.to_json() for c in self.comparisons],
        }


def variance(ours: int, theirs: int) -> float:
    return abs(ours - theirs) / max(theirs, 1)


def compare(
    chain_id: int,
    chain: str,
    figure: Figure,
    ours: Ours,
    theirs: Theirs | None,
    threshold: float,
) -> Comparison:
    """One comparison; see the module docstring for the rules."""

    def made(status: Status, v: float | None = None, reason: str | None = None) -> Comparison:
        theirs_value = None if theirs is None else theirs.value
        return Comparison(
            chain_id, chain, figure, status, ours.value, theirs_value, v, reason, theirs
        )

    if theirs is None:
        return made(Status.NOT_COMPARABLE, reason="no upstream figure fetched yet")
    if theirs.value is None:
        return made(Status.NOT_COMPARABLE, reason=unavailable(theirs.last_error))
    if ours.value is None:
        return made(Status.NOT_COMPARABLE, reason=ours.reason or "our figure is unavailable")
    v = variance(ours.value, theirs.value)
    return made(Status.FLAGGED if v > threshold else Status.OK, v)


def unavailable(error: str | None) -> str:
    """Why an upstream figure is missing, in words for the report."""
    if error == "upstream_not_on_plan":
        return "upstream figure unavailable on the API key's plan"
    if error == "not_offered":
        return "the provider offers no such figure"
    return f"upstream figure unavailable ({error or 'never fetched'})"


def render_markdown(report: Report) -> str:
    """The report for people: a summary, the flagged comparisons first, then every one."""
    lines = [
        f"# Validation report ({report.origin})",
        "",
        f"- started: {report.started_at.isoformat()}",
        f"- finished: {report.finished_at.isoformat()}",
        f"- threshold: {report.threshold:.2%} (variance = |ours - theirs| / max(theirs, 1))",
        f"- flagged: {len(report.flagged)} of {len(report.comparisons)} comparisons",
        "",
    ]
    if report.flagged:
        lines += ["## Flagged", ""]
        lines += [f"- {_sentence(c)}" for c in report.flagged]
        lines.append("")
    lines += ["## All comparisons", "", *_table(report.comparisons), ""]
    return "\n".join(lines)


def _table(comparisons: Sequence[Comparison]) -> list[str]:
    rows = [
        "| chain | figure | ours | theirs | variance | status | upstream | note |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for c in comparisons:
        rows.append(
            f"| {c.chain} ({c.chain_id}) | {c.figure.value} | {_cell(c.ours)} | "
            f"{_cell(c.theirs)} | {_pct(c.variance)} | {c.status.value} | {_upstream(c)} | "
            f"{_note(c)} |"
        )
    return rows


def _sentence(c: Comparison) -> str:
    return (
        f"{c.chain} ({c.chain_id}) {c.figure.value}: ours {_cell(c.ours)}, theirs "
        f"{_cell(c.theirs)} ({_pct(c.variance)}){_window(c)}"
    )


def _upstream(c: Comparison) -> str:
    up = c.upstream
    if up is None:
        return "—"
    age = "" if up.age_seconds is None else f", {_age(up.age_seconds)} old"
    return f"{up.source}{age}{', stale' if up.stale else ''}"


def _note(c: Comparison) -> str:
    return ((c.reason or "") + _window(c)).strip()


def _window(c: Comparison) -> str:
    up = c.upstream
    if up is None or up.block_lo is None:
        return ""
    return f" (blocks {up.block_lo:,} to {up.block_hi:,})"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _cell(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _num(value: int | None) -> str | None:
    # Supplies pass 2**53: JSON numbers would lose digits in JavaScript, so strings.
    return None if value is None else str(value)
