"""One validation run: gather our figures and the newest upstream ones from the store, compare
them (app.ops.validation), store the report and raise or resolve the alerts, in one
transaction so a report and its alerts always agree.

Our side, per chain:
- transfers: the stored transfers in the block window of the newest good upstream count,
  only when our coverage has no gap in that window;
- holders and supply: ``app.store.balances.summaries``, only when the chain's coverage is
  complete from its first block (a partial history gives partial balances).

Fetching fresh upstream figures first is the caller's choice (the nightly job and the CLI do,
through app.ingest.figures): this module only reads the store, as the API layers must.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.config import Config
from app.domain import Chain, Figure
from app.ops import validation
from app.ops.validation import Comparison, Ours, Report, Status, Theirs
from app.store import alerts, balances, coverage, figures
from app.store import pool as store_pool
from app.store import validation as stored_reports
from app.store.balances import BalanceSummary
from app.store.figures import UpstreamFigure
from app.store.pool import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    report_id: int
    report: Report
    markdown: str


async def run(
    pool: store_pool.Pool,
    config: Config,
    *,
    origin: str,
    chain_ids: Sequence[int] | None = None,
    threshold: float | None = None,
) -> Outcome:
    """Compare, store the report, raise/resolve alerts; returns the stored report."""
    limit = config.settings.validate_threshold if threshold is None else threshold
    chains = [c for c in config.enabled_chains if chain_ids is None or c.id in chain_ids]
    started = datetime.now(UTC)
    async with store_pool.transaction(pool) as conn:
        comparisons = await compare_chains(conn, chains, limit)
        report = Report(started, datetime.now(UTC), limit, origin, tuple(comparisons))
        markdown = validation.render_markdown(report)
        report_id = await stored_reports.insert_report(
            conn,
            origin=origin,
            started_at=report.started_at,
            finished_at=report.finished_at,
            threshold=limit,
            report=report.to_json(),
            markdown=markdown,
            flagged=len(report.flagged),
        )
        await apply_alerts(conn, report, report_id)
    log.info(
        "validation report",
        extra={"report_id": report_id, "origin": origin, "flagged": len(report.flagged)},
    )
    return Outcome(report_id, report, markdown)


async def compare_chains(
    conn: Connection, chains: Sequence[Chain], threshold: float
) -> list[Comparison]:
    latest = await figures.latest_good(conn)
    summaries = {s.chain_id: s for s in await balances.summaries(conn)}
    found = []
    for chain in chains:
        theirs = {f.figure: theirs_of(f) for f in latest if f.chain_id == chain.id}
        ours = {
            Figure.TRANSFERS: await ours_transfers(conn, chain.id, theirs.get(Figure.TRANSFERS)),
            **ours_balances(summaries.get(chain.id)),
        }
        found += [
            validation.compare(
                chain.id, chain.name, figure, ours[figure], theirs.get(figure), threshold
            )
            for figure in validation.FIGURE_ORDER
        ]
    return found


def theirs_of(found: UpstreamFigure) -> Theirs:
    return Theirs(
        value=found.value,
        source=found.source,
        fetched_at=found.fetched_at,
        age_seconds=found.age_seconds,
        stale=found.stale,
        last_error=found.last_error,
        block_lo=found.block_lo,
        block_hi=found.block_hi,
    )


async def ours_transfers(conn: Connection, chain_id: int, theirs: Theirs | None) -> Ours:
    if theirs is None or theirs.block_lo is None or theirs.block_hi is None:
        return Ours(None, "no upstream window to count in")
    lo, hi = theirs.block_lo, theirs.block_hi
    gaps = await coverage.list_gaps(conn, chain_id, lo, hi)
    if gaps:
        missing = sum(b - a + 1 for a, b in gaps)
        return Ours(None, f"our coverage misses {missing:,} block(s) of the window")
    return Ours(await figures.count_transfers(conn, chain_id, lo, hi), as_of_block=hi)


def ours_balances(summary: BalanceSummary | None) -> Mapping[Figure, Ours]:
    if summary is None or summary.covered_to is None:
        missing = Ours(None, "nothing stored yet")
        return {Figure.HOLDERS: missing, Figure.SUPPLY: missing}
    if not summary.complete:
        gaps = f"{summary.gaps} gap(s)" if summary.gaps else "history not back to first_block"
        incomplete = Ours(None, f"our coverage is incomplete ({gaps})")
        return {Figure.HOLDERS: incomplete, Figure.SUPPLY: incomplete}
    block = summary.covered_to
    return {
        Figure.HOLDERS: Ours(summary.holders, as_of_block=block),
        Figure.SUPPLY: Ours(summary.supply, as_of_block=block),
    }


async def apply_alerts(conn: Connection, report: Report, report_id: int) -> None:
    """Flagged: raise (deduplicated while open). Quiet: resolve an open one. Not comparable:
    leave it be, since nothing new is known."""
    for c in report.comparisons:
        if c.status is Status.FLAGGED:
            await alerts.raise_alert(
                conn,
                kind=validation.ALERT_KIND,
                dedupe_key=c.dedupe_key,
                chain_id=c.chain_id,
                message=f"{c.chain} {c.figure.value} differs from the explorer by "
                f"{c.variance or 0:.2%} (threshold {report.threshold:.2%})",
                details=c.to_json() | {"reportId": report_id},
            )
        elif c.status is Status.OK:
            await alerts.resolve(conn, c.dedupe_key)
