"""The JOBS table: every job the leader schedules, by name, with its trigger and limits.

Jobs are single-instance and coalesced (a slow run never overlaps the next, a backlog runs
once), each has an explicit misfire grace time, and each runs through :func:`run_job`, which
re-checks leadership first (a deposed leader must not write) and logs failures instead of
raising them into the scheduler.

:func:`plan` adds the ingestion jobs to the static table: one ``tip:<chain id>`` per enabled
chain (every TOKENPULSE_INGEST_INTERVAL_SECONDS plus jitter, skipped while ingest_status says
the chain is backing off after failures) and one ``backfill`` that fills coverage gaps below
the tips, newest first, for at most TOKENPULSE_BACKFILL_RUN_SECONDS a run (app.ingest.warm),
and one ``reconcile`` that compares one chain's sampled final windows with an independent
source each TOKENPULSE_RECONCILE_INTERVAL_SECONDS, chains in turn (app.ingest.reconcile).

Ingestion writes each window (rows + coverage) in one transaction. A leader stepping down
cancels its jobs; :func:`at_window_boundary` turns that cancellation into a request to stop
after the window in flight (a backfill stops right after it; a tip cycle, which has no window
hook, gets STOP_GRACE_SECONDS to finish), so a clean stop never interrupts a commit. A leader
that *lost* its lock cancels at once instead (grace 0): another leader may already be
running, and an interrupted transaction rolls back whole anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.jobstores.base import JobLookupError
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.alerting import channels as alert_channels
from app.alerting import delivery as alert_delivery
from app.alerting import evaluator as alert_evaluator
from app.config import Config
from app.domain import Chain
from app.errors import TokenpulseError
from app.ingest import aggregates, warm
from app.ingest import figures as token_figures
from app.ingest import finality as finality_probes
from app.ingest import prices as price_polling
from app.ingest import reconcile as reconciliation
from app.ingest.runtime import Ingestor
from app.ops import sla as ops_sla
from app.ops import validation_runner
from app.store import chains, ingest_status, workers
from app.store import pool as store_pool
from schedulers import runs

log = logging.getLogger(__name__)
T = TypeVar("T")
STOP_GRACE_SECONDS = 2.0  # how long a cancelled ingestion job may take to reach a window's end
# First tip runs: after the quick jobs of leadership start (sync_chains), then spread out per
# chain, so a new leader does not ask the pool for a dozen connections at once.
TIP_FIRST_SECONDS = 1.0
TIP_STAGGER_SECONDS = 0.5
AGAIN_DELAY_SECONDS = 0.2  # see _run_again
BREAKER_PUBLISH_SECONDS = 10  # how fresh upstream_breakers is for the API processes


@dataclass(slots=True)
class JobState:
    """What jobs carry from one run to the next (in memory; the database holds the rest)."""

    backfill_start: int = 0  # the chain the next backfill run begins with (round robin)
    reconcile_turn: int = 0  # the next reconcile run's turn: its chain and random windows
    # How long a cancelled ingestion job may take to reach a window's end: the worker sets 0
    # when it lost the lock (another leader may be starting), keeps the default when it stops.
    stop_grace: float = STOP_GRACE_SECONDS
    # Runs a job again at once (set by :func:`schedule`): a backfill run that ended on its time
    # limit with gaps left goes on right away instead of idling until its next interval.
    again: Callable[[str], None] = lambda job_id: None
    # The price sources' breakers and rate-limit rests (app.ingest.prices).
    prices: price_polling.PriceState = field(default_factory=price_polling.PriceState)
    # The alert evaluator's pending periods and rate-limit samples (app.alerting.evaluator).
    alerts: alert_evaluator.Memory = field(default_factory=alert_evaluator.Memory)
    # A job's next scheduled run (set by :func:`schedule`), recorded in job_runs for health.
    next_run: Callable[[str], datetime | None] = lambda job_id: None


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job may use: the configuration, the worker's pool and a leadership check."""

    config: Config
    pool: store_pool.Pool
    is_leader: Callable[[], Awaitable[bool]]
    # The tasks of the runs in progress, so a leader stepping down can wait for them to end.
    running: set[asyncio.Task[Any]] = field(default_factory=set)
    ingestor: Ingestor | None = None  # opened by the worker when it becomes leader
    state: JobState = field(default_factory=JobState)

    def need_ingestor(self) -> Ingestor:
        if self.ingestor is None:
            raise RuntimeError("this worker has no ingestor (not the leader?)")
        return self.ingestor


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    # Returns True when it stopped with work left and should run again at once.
    func: Callable[[JobContext], Awaitable[bool | None]]
    every: timedelta
    misfire_grace_time: int  # seconds a run may start late before it is skipped
    at_leadership_start: bool = False  # also run as soon as this worker becomes leader
    jitter: float | None = None  # each run starts up to this many seconds late, at random
    start_delay: float = 0.0  # seconds after leadership start of that first run
    hour_utc: int | None = None  # a daily job at this hour (UTC, minute 0) instead of `every`

    def trigger(self) -> Any:
        if self.hour_utc is not None:
            return CronTrigger(hour=self.hour_utc, minute=0, timezone=UTC)
        # A fresh trigger per schedule: IntervalTrigger anchors on its creation time.
        seconds = self.every.total_seconds()
        return IntervalTrigger(seconds=seconds, timezone=UTC, jitter=self.jitter or None)


def stale_after(config: Config) -> float:
    """Seconds without a heartbeat after which a worker's row is considered dead."""
    return max(3 * config.settings.worker_heartbeat_seconds, 15.0)


async def sync_chains(ctx: JobContext) -> None:
    """Mirror the configured chains into the database (a new chain appears without a migrate)."""
    async with ctx.pool.connection() as conn, conn.transaction():
        changed = await chains.upsert_chains(conn, ctx.config.chains)
    log.info("chains synced", extra={"changed": changed})


async def prune_heartbeats(ctx: JobContext) -> None:
    """Delete the rows of workers that stopped without saying goodbye (killed, host lost)."""
    async with ctx.pool.connection() as conn, conn.transaction():
        deleted = await workers.delete_stale(conn, stale_after(ctx.config))
    if deleted:
        log.info("stale heartbeats pruned", extra={"deleted": deleted})


JOBS: tuple[Job, ...] = (
    Job(
        "sync_chains",
        sync_chains,
        every=timedelta(minutes=10),
        misfire_grace_time=300,
        at_leadership_start=True,
    ),
    Job("prune_heartbeats", prune_heartbeats, every=timedelta(minutes=1), misfire_grace_time=30),
)


async def sync_tip(ctx: JobContext, chain_id: int) -> None:
    """One tip cycle of a chain, unless it is backing off after failed cycles."""
    ingestor = ctx.need_ingestor()
    async with ctx.pool.connection() as conn, conn.transaction():
        status = await ingest_status.find(conn, chain_id)
    if status is not None and status.backoff_until and status.backoff_until > datetime.now(UTC):
        log.info("tip skipped: backing off", extra={"chain_id": chain_id})
        return
    try:
        report = await at_window_boundary(
            lambda should_stop: ingestor.sync_tip(chain_id), lambda: ctx.state.stop_grace
        )
    except TokenpulseError as exc:  # recorded in ingest_status by the ingestor; no traceback
        log.warning("tip failed", extra={"chain_id": chain_id, "error": str(exc)})
        return
    if not report.complete:
        log.warning("tip incomplete", extra={"chain_id": chain_id, "errors": report.errors[:3]})


async def backfill(ctx: JobContext) -> bool:
    """Fill coverage gaps below the tips, newest first, a chunk per chain in turn, for at most
    TOKENPULSE_BACKFILL_RUN_SECONDS; the next run resumes from the coverage ledger.

    Returns True when the run ended on its time limit (gaps may be left), so the next run
    starts at once: runs are bounded so that progress is logged and the chains' turns rotate,
    not to leave the rate budget idle until the next interval.
    """
    ingestor, settings = ctx.need_ingestor(), ctx.config.settings
    start = ctx.state.backfill_start
    ctx.state.backfill_start += 1

    def run(should_stop: warm.ShouldStop) -> Awaitable[warm.RunTotals]:
        return warm.fill_gaps(
            ingestor,
            ctx.pool,
            ctx.config,
            seconds=settings.backfill_run_seconds,
            start=start,
            should_stop=should_stop,
        )

    totals = await at_window_boundary(run, lambda: ctx.state.stop_grace)
    if totals.calls:
        log.info(
            "backfill done",
            extra={"inserted": totals.inserted, "calls": totals.upstream_calls}
            | {"runs": totals.calls, "stopped": totals.stopped, "errors": totals.errors[:3]},
        )
    # A cancelled run raised above; stopped here means the time limit, and errors end a run
    # early, so only a clean run that used all its time asks for the next one now.
    return totals.stopped and not totals.errors


async def at_window_boundary(
    make: Callable[[warm.ShouldStop], Awaitable[T]], grace: Callable[[], float]
) -> T:
    """Run ``make(should_stop)`` so that cancelling the caller never interrupts a commit.

    The work runs in an inner task. When the caller is cancelled (the leader steps down),
    ``should_stop`` turns true, so the work ends after the window in flight; only work still
    running after ``grace`` seconds is cancelled outright. The caller's cancellation is then
    re-raised.
    """
    stop = asyncio.Event()
    inner = asyncio.ensure_future(make(stop.is_set))
    try:
        return await asyncio.shield(inner)
    except asyncio.CancelledError:
        stop.set()
        done, _ = await asyncio.wait([inner], timeout=grace())
        if not done:
            inner.cancel()
        await asyncio.gather(inner, return_exceptions=True)
        raise


async def reconcile(ctx: JobContext) -> None:
    """Compare one chain's sampled final windows with an independent source and repair them
    (app.ingest.reconcile); chains in turn, Cronos first. Stops between windows."""
    order = reconciliation.chain_order(ctx.config)
    if not order:
        return
    ingestor, turn = ctx.need_ingestor(), ctx.state.reconcile_turn
    ctx.state.reconcile_turn += 1
    chain_id = order[turn % len(order)]
    rng = reconciliation.sampler(ctx.config.settings, turn)

    def run(should_stop: warm.ShouldStop) -> Awaitable[list[Any]]:
        return reconciliation.reconcile_chain(ingestor, chain_id, rng, should_stop=should_stop)

    try:
        found = await at_window_boundary(run, lambda: ctx.state.stop_grace)
    except TokenpulseError as exc:  # each window's failure is in reconciliation_runs
        log.warning("reconciliation failed", extra={"chain_id": chain_id, "error": str(exc)})
        return
    log.info("reconciliation done", extra={"chain_id": chain_id, "windows": len(found)})


def reconcile_job(config: Config) -> Job:
    interval = config.settings.reconcile_interval_seconds
    return Job(
        "reconcile",
        reconcile,
        every=timedelta(seconds=interval),
        misfire_grace_time=max(1, round(interval)),
    )


async def fetch_figures(ctx: JobContext) -> None:
    """Append every enabled chain's upstream supply, holder count and window transfer count
    (failed attempts too) to upstream_figures: the last-known-good values and the
    validation suite's upstream side."""
    attempts = await token_figures.fetch_all(ctx.need_ingestor())
    failed = sum(not attempt.ok for attempt in attempts)
    log.info("token figures fetched", extra={"attempts": len(attempts), "failed": failed})


async def validate_nightly(ctx: JobContext) -> None:
    """Fresh figures, then the validation report (stored, alerts raised or resolved)."""
    await token_figures.fetch_all(ctx.need_ingestor())
    outcome = await validation_runner.run(ctx.pool, ctx.config, origin="nightly")
    flagged = len(outcome.report.flagged)
    log.log(logging.WARNING if flagged else logging.INFO, "nightly validation",
            extra={"report_id": outcome.report_id, "flagged": flagged})  # fmt: skip


def figure_jobs(config: Config) -> tuple[Job, ...]:
    """token_figures (every TOKENPULSE_FIGURES_INTERVAL_SECONDS, first a minute after the
    tips start) and validate_nightly (daily at TOKENPULSE_VALIDATE_HOUR_UTC)."""
    interval = config.settings.figures_interval_seconds
    fetch = Job(
        "token_figures",
        fetch_figures,
        every=timedelta(seconds=interval),
        misfire_grace_time=max(1, round(interval)),
        at_leadership_start=True,
        start_delay=60.0,
    )
    nightly = Job(
        "validate_nightly",
        validate_nightly,
        every=timedelta(days=1),
        misfire_grace_time=3600,  # a leader elected late in that hour still runs it
        hour_utc=config.settings.validate_hour_utc,
    )
    return fetch, nightly


async def refresh_analytics(ctx: JobContext) -> None:
    """Recompute the recent analytics buckets, then every old range ingestion recorded in
    analytics_dirty (backfills), then apply the hourly retention (app.ingest.aggregates)."""
    report = await aggregates.refresh_once(ctx.config.settings, dsn=store_pool.dsn_of(ctx.pool))
    log.info("analytics refreshed", extra={"days": report.days, "dirty": report.dirty})


def analytics_job(config: Config) -> Job:
    interval = config.settings.analytics_refresh_seconds
    return Job(
        "analytics_refresh",
        refresh_analytics,
        every=timedelta(seconds=interval),
        misfire_grace_time=max(1, round(interval)),
        at_leadership_start=True,
        start_delay=5.0,  # after the first tip cycles have begun
    )


async def evaluate_alerts(ctx: JobContext) -> None:
    """Run the alert rules: raise, refresh and resolve alerts (app.alerting.evaluator)."""
    await alert_evaluator.evaluate_once(ctx.pool, ctx.config, ctx.state.alerts)


async def deliver_alerts(ctx: JobContext) -> None:
    """Send the alert messages owed to Slack and email, with retries (app.alerting.delivery)."""
    channels = alert_channels.configured(ctx.config)
    report = await alert_delivery.deliver_once(ctx.pool, ctx.config, channels)
    if report.sent or report.failed:
        log.info("alerts delivered", extra={"sent": report.sent, "failed": report.failed})


def alert_jobs(config: Config) -> tuple[Job, ...]:
    """alerts_evaluate (every TOKENPULSE_ALERT_EVALUATE_SECONDS, at most 30) and
    alerts_deliver (every TOKENPULSE_ALERT_DELIVER_SECONDS): separate jobs, so a slow mail
    server never delays an evaluation, nor any other job."""
    s = config.settings
    evaluate = Job(
        "alerts_evaluate",
        evaluate_alerts,
        every=timedelta(seconds=s.alert_evaluate_seconds),
        misfire_grace_time=max(1, round(s.alert_evaluate_seconds)),
        at_leadership_start=True,
        start_delay=TIP_FIRST_SECONDS,
    )
    deliver = Job(
        "alerts_deliver",
        deliver_alerts,
        every=timedelta(seconds=s.alert_deliver_seconds),
        misfire_grace_time=max(1, round(s.alert_deliver_seconds)),
        at_leadership_start=True,
        start_delay=TIP_FIRST_SECONDS,
    )
    return evaluate, deliver


async def poll_prices(ctx: JobContext) -> None:
    """Poll every enabled price source once; one price_observations row each, failures
    included (app.ingest.prices)."""
    await price_polling.poll(ctx.pool, ctx.config, ctx.state.prices)


async def publish_breakers(ctx: JobContext) -> None:
    """Publish every breaker of this worker (explorers per chain, RPC endpoints, price
    sources) and their transitions to upstream_breakers, for the API processes."""
    sets = price_polling.process_breakers(ctx.ingestor, ctx.state.prices)
    await price_polling.publish_breakers(ctx.pool, sets)


def price_jobs(config: Config) -> tuple[Job, ...]:
    """prices (every TOKENPULSE_PRICE_INTERVAL_SECONDS, unless no source is enabled) and
    publish_breakers (every BREAKER_PUBLISH_SECONDS)."""
    publish = Job(
        "publish_breakers",
        publish_breakers,
        every=timedelta(seconds=BREAKER_PUBLISH_SECONDS),
        misfire_grace_time=BREAKER_PUBLISH_SECONDS,
        at_leadership_start=True,
        start_delay=TIP_FIRST_SECONDS,
    )
    interval = config.settings.price_interval_seconds
    if not config.settings.price_source_list:
        return (publish,)
    poll = Job(
        "prices",
        poll_prices,
        every=timedelta(seconds=interval),
        misfire_grace_time=max(1, round(interval)),
        at_leadership_start=True,
        start_delay=TIP_FIRST_SECONDS,
    )
    return poll, publish


def tip_job(chain: Chain, config: Config, index: int = 0) -> Job:
    interval = config.settings.ingest_interval_seconds

    async def tip(ctx: JobContext) -> None:
        await sync_tip(ctx, chain.id)

    return Job(
        f"tip:{chain.id}",
        tip,
        every=timedelta(seconds=interval),
        misfire_grace_time=max(1, round(interval)),
        at_leadership_start=True,
        jitter=config.settings.ingest_jitter_seconds,
        start_delay=TIP_FIRST_SECONDS + index * TIP_STAGGER_SECONDS,
    )


def backfill_job(config: Config) -> Job:
    settings = config.settings
    # Starts once the first tip cycles have given every chain a top range to fill below.
    first = min(settings.ingest_interval_seconds, 10.0)
    return Job(
        "backfill",
        backfill,
        every=timedelta(seconds=settings.backfill_interval_seconds),
        misfire_grace_time=max(1, round(settings.backfill_interval_seconds)),
        at_leadership_start=True,
        start_delay=first,
    )


async def probe_finality(ctx: JobContext) -> None:
    """Probe every enabled chain's latest, safe and finalized blocks into finality_observations
    (app.ingest.finality), then drop the probes past TOKENPULSE_FINALITY_RETENTION_DAYS."""
    ingestor = ctx.need_ingestor()
    found = await finality_probes.observe_all(ingestor)
    pruned = await finality_probes.prune(ingestor, ctx.config.settings.finality_retention_days)
    log.info("finality probed", extra={**finality_probes.summary(found), "pruned": pruned})


async def report_sla(ctx: JobContext) -> None:
    """Log the SLA line: latency percentiles and success rates per source (app.ops.sla)."""
    await ops_sla.report(ctx.pool)


def finality_job(config: Config) -> Job:
    interval = config.settings.finality_interval_seconds
    return Job(
        "finality",
        probe_finality,
        every=timedelta(seconds=interval),
        misfire_grace_time=max(1, round(interval)),
        at_leadership_start=True,
        start_delay=TIP_FIRST_SECONDS,
    )


def sla_job(config: Config) -> Job:
    interval = config.settings.sla_log_interval_seconds
    return Job("sla_report", report_sla, every=timedelta(seconds=interval), misfire_grace_time=60)


def plan(config: Config) -> tuple[Job, ...]:
    """Every job of a leader: the JOBS table, a tip job per enabled chain, the backfill job,
    unless TOKENPULSE_RECONCILE_WINDOWS is 0 the reconcile job, the upstream figures job,
    the nightly validation, analytics_refresh and the two alert jobs (those also without
    any enabled chain)."""
    tips = tuple(tip_job(chain, config, i) for i, chain in enumerate(config.enabled_chains))
    alerting = alert_jobs(config)
    if not tips:
        return (*JOBS, *alerting, *price_jobs(config), sla_job(config))
    checks = (reconcile_job(config),) if config.settings.reconcile_windows else ()
    analytics = analytics_job(config)
    return (
        *JOBS,
        *tips,
        backfill_job(config),
        *checks,
        *figure_jobs(config),
        analytics,
        *alerting,
        *price_jobs(config),
        finality_job(config),
        sla_job(config),
    )


def schedule(scheduler: Any, ctx: JobContext, jobs: tuple[Job, ...] = JOBS) -> None:
    """Add every job to a (not yet started) AsyncIOScheduler."""
    now = datetime.now(UTC)
    ctx.state.again = functools.partial(_run_again, scheduler)
    ctx.state.next_run = functools.partial(_next_run, scheduler)
    for job in jobs:
        start = now + timedelta(seconds=job.start_delay)
        first_run = {"next_run_time": start} if job.at_leadership_start else {}
        scheduler.add_job(
            run_job,
            trigger=job.trigger(),
            args=[job, ctx],
            id=job.id,
            name=job.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.misfire_grace_time,
            **first_run,
        )


async def run_job(job: Job, ctx: JobContext) -> None:
    """Run one job; never raises. Cancellation (the leader stepping down) ends it quietly: the
    worker that cancelled it waits for the task, and APScheduler would log it as a crash."""
    task = asyncio.current_task()
    if task is not None:
        ctx.running.add(task)
        task.add_done_callback(ctx.running.discard)
    began, started = datetime.now(UTC), time.perf_counter()
    try:
        if not await ctx.is_leader():
            log.warning("job skipped: no longer the leader", extra={"job": job.id})
            return
        began, started = datetime.now(UTC), time.perf_counter()
        again = await job.func(ctx)
    except asyncio.CancelledError:
        log.info("job cancelled", extra={"job": job.id})
        return
    except Exception as exc:
        log.exception("job failed", extra={"job": job.id})
        await _record(job, ctx, began, started, runs.error_text(exc, ctx.config.secrets))
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info("job done", extra={"job": job.id, "duration_ms": duration_ms})
    await _record(job, ctx, began, started)
    if again:
        ctx.state.again(job.id)


async def _record(
    job: Job, ctx: JobContext, began: datetime, started: float, error: str | None = None
) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    await runs.record(
        ctx.pool, job.id, began, duration_ms, error=error, next_run_at=ctx.state.next_run(job.id)
    )


def _next_run(scheduler: Any, job_id: str) -> datetime | None:
    job = scheduler.get_job(job_id)
    return None if job is None else job.next_run_time


def _run_again(scheduler: Any, job_id: str) -> None:
    # Called from inside the run: APScheduler counts it as running until its task's done
    # callbacks have run, and would skip a run due before that (max_instances=1). So the
    # next run is made due a moment later, once this one is no longer counted.
    def due_now() -> None:
        # JobLookupError: the scheduler has shut down (leadership ended) and dropped its jobs.
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    asyncio.get_running_loop().call_later(AGAIN_DELAY_SECONDS, due_now)
