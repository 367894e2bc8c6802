"""The ``tokenpulse`` command: migrate, serve, worker, demo, backfill, validate, simulate,
version.

Every command loads the configuration first; a ConfigError (or any TokenpulseError that
escapes a command) is printed as ONE line on stderr and exits with code 2, no traceback.

The worker runtime lives in ``schedulers`` and nothing else in ``app`` may import it (an
import-linter contract with one declared exception, ``app.cli -> schedulers.main``: the CLI is
the composition root). It is imported inside :func:`worker_runtime`, and the ingestion and
simulator stacks inside the commands that use them, so ``migrate``, ``serve`` and ``version``
start without loading them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
import uvicorn

from app import __version__
from app import config as app_config
from app import logging as app_logging
from app.config import Config, Settings
from app.domain import Chain
from app.errors import ConfigError, DatabaseUnavailable, TokenpulseError
from app.ops import settings_cli
from app.store import analytics, chains, cluster, migrate
from app.store import pool as store_pool

log = logging.getLogger(__name__)
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Main = Callable[[asyncio.Event], Awaitable[None]]
RunWorker = Callable[..., Coroutine[Any, Any, None]]


def worker_runtime() -> RunWorker:
    """``schedulers.main.run_worker``, imported only by the commands that run a worker."""
    from schedulers import main as scheduler_main  # ~0.2 s that serve/migrate do not need

    return scheduler_main.run_worker


class _Cli(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TokenpulseError as exc:
            click.echo(f"tokenpulse: {describe(exc)}", err=True)
            ctx.exit(2)


def describe(exc: TokenpulseError) -> str:
    """The one line printed for an error that stops a command."""
    if isinstance(exc, ConfigError):
        text = f"configuration error: {exc.message}"
    elif isinstance(exc, DatabaseUnavailable):
        text = "database unavailable: check TOKENPULSE_DATABASE_URL and that the server is up"
    else:
        text = f"error: {exc.message}"
    return " ".join(text.splitlines())


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Tokenpulse: multi-chain ERC-20 transfer analytics."""


def main() -> None:
    cli(prog_name="tokenpulse")


cli.add_command(settings_cli.settings)  # tokenpulse settings list | set KEY VALUE | reset KEY


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"tokenpulse {__version__}")


@cli.command("migrate")
def migrate_command() -> None:
    """Bring the schema up to date and mirror the configured chains (safe to repeat)."""
    config = start()
    need_database(config.settings)
    asyncio.run(migrate_and_sync(config))


@cli.command()
@click.option("--host", help="Interface to bind (default TOKENPULSE_HOST).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default TOKENPULSE_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the API (GraphQL, REST, health, metrics)."""
    config = start()
    need_database(config.settings)
    host, port = host or config.settings.host, port or config.settings.port
    # The app (and its pool) is created inside the event loop that will run it.
    run_until_signalled(lambda stop: serve_api(api_server(config, None, host, port), stop))


@cli.command()
def worker() -> None:
    """Run a worker: leader election, heartbeats and the scheduled jobs."""
    config = start()
    need_database(config.settings)
    run_worker = worker_runtime()
    run_until_signalled(lambda stop: run_worker(config, stop=stop))


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), help="API port (default TOKENPULSE_PORT).")
def demo(port: int | None) -> None:
    """Run everything on this machine: embedded PostgreSQL, the upstream simulator, the API and
    a worker ingesting from the simulator."""
    config = start(demo=True)
    from app import embedded  # the simulator's stack, only for this command

    settings = config.settings
    port = port or settings.port
    if settings.database_url is not None:
        click.echo("database: TOKENPULSE_DATABASE_URL")
        with embedded.demo_simulator(config) as config:
            run_until_signalled(lambda stop: run_demo(config, None, port, stop))
        return
    with embedded_database(settings) as dsn, embedded.demo_simulator(config) as config:
        run_until_signalled(lambda stop: run_demo(config, dsn, port, stop))


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=9545, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="The simulated world.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--density",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiplier of the default transfers per day.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
def simulate(port: int, seed: int, speed: float, density: float, host: str) -> None:
    """Run the upstream simulator (Etherscan V2, Cronos explorer, JSON-RPC, price APIs)."""
    config = start(demo=True)
    from app import embedded, simulator  # the simulator's stack, only for this command

    def serve() -> Coroutine[Any, Any, None]:
        chains_file = config.settings.chains_file
        return simulator.run(port, seed, speed, host=host, density=density, chains_file=chains_file)

    thread = embedded.SimulatorThread(serve, host, port)
    thread.start_serving()
    try:
        click.echo(
            f"simulator: {thread.url} (seed {seed}, speed {speed:g}, density {density:g});"
            " Ctrl-C to stop"
        )
        run_until_signalled(thread.until_stopped)
    finally:
        thread.stop()


@cli.command()
@click.option("--chain", "chain_id", type=int, required=True, help="Chain id, e.g. 137.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), help="Go back this many days.")
@click.option("--from-block", type=click.IntRange(min=0), help="First block to fill.")
@click.option(
    "--to-block", type=click.IntRange(min=0), help="Last block (default: the finality point)."
)
def backfill(
    chain_id: int, days: float | None, from_block: int | None, to_block: int | None
) -> None:
    """Fill a chain's transfers for a block range (resumable; Ctrl-C stops after the window in
    flight). Shares the upstream rate budget with running workers."""
    if (days is None) == (from_block is None):
        raise click.UsageError("give exactly one of --days and --from-block")
    config = start()
    need_database(config.settings)
    chain = enabled_chain(config, chain_id)
    from app import backfill as tool  # the ingestion stack, only for this command

    outcome: list[int] = []

    async def main(stop: asyncio.Event) -> None:
        outcome.append(await tool.run(config, chain, days, (from_block, to_block), stop))

    run_until_signalled(main)
    sys.exit(outcome[0] if outcome else tool.EXIT_INTERRUPTED)


@cli.command("backfill-analytics")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Refresh this many UTC days back, today included.",
)
def backfill_analytics(days: int) -> None:
    """Compute the analytics aggregates of past days from the stored transfers, a day per
    statement, oldest first, with a progress line (idempotent; Ctrl-C stops after the day in
    flight). Needed once after loading history into a timescale database: its refresh
    policies only look at recent buckets."""
    config = start()
    need_database(config.settings)
    from app import backfill_analytics as tool  # the ingestion side, only for this command

    outcome: list[int] = []

    async def main(stop: asyncio.Event) -> None:
        outcome.append(await tool.run(config, days, stop))

    run_until_signalled(main)
    sys.exit(outcome[0] if outcome else tool.EXIT_INTERRUPTED)


@cli.command()
@click.option("--chain", "chain_id", type=int, help="Only this chain id (default: every enabled).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."
)
@click.option(
    "--no-fetch", is_flag=True, help="Use the newest stored upstream figures; call nothing."
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    help="Variance flagged above (default TOKENPULSE_VALIDATE_THRESHOLD, 0.02 = 2 %).",
)
def validate(
    chain_id: int | None, fmt: str, out: Path | None, no_fetch: bool, threshold: float | None
) -> None:
    """Compare our transfer counts, holders and supply with the explorers', store the report
    and raise or resolve alerts. Exit 0: nothing flagged; 1: something flagged; 2: bad
    configuration or arguments."""
    config = start()
    need_database(config.settings)
    chain_ids = None if chain_id is None else [enabled_chain(config, chain_id).id]
    from app import validate as tool  # the ingestion stack, only for this command

    outcome = asyncio.run(tool.run(config, chain_ids, fetch=not no_fetch, threshold=threshold))
    report = outcome.report
    text = json.dumps(report.to_json(), indent=2) if fmt == "json" else outcome.markdown
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", "utf-8")
    flagged = len(report.flagged)
    click.echo(
        f"validation report {outcome.report_id}: {flagged} of {len(report.comparisons)}"
        " comparisons flagged",
        err=True,
    )
    sys.exit(tool.EXIT_FLAGGED if flagged else tool.EXIT_CLEAN)


def start(*, demo: bool = False) -> Config:
    config = app_config.load(demo=demo)
    app_logging.configure(config.settings, config.secrets)
    return config


def enabled_chain(config: Config, chain_id: int) -> Chain:
    for chain in config.enabled_chains:
        if chain.id == chain_id:
            return chain
    known = ", ".join(str(chain.id) for chain in config.enabled_chains) or "none"
    raise ConfigError("--chain", f"{chain_id} is not an enabled chain (enabled: {known})")


def need_database(settings: Settings) -> None:
    if settings.database_url is None:
        raise ConfigError(
            "TOKENPULSE_DATABASE_URL", "is not set (`tokenpulse demo` runs an embedded database)"
        )


async def migrate_and_sync(config: Config, dsn: str | None = None) -> None:
    """Migrate, then mirror the configured chains into the database; print what happened."""
    conn = await store_pool.connect(config.settings, dsn=dsn, autocommit=True)
    async with conn:
        report = await migrate.migrate(conn, config.settings.schema_mode)
        async with conn.transaction():
            changed = await chains.upsert_chains(conn, config.chains)
            retention = config.settings.analytics_hourly_retention_days
            await analytics.apply_retention(conn, retention)
    click.echo(migrate_summary(report))
    total = len(config.chains)
    click.echo(
        f"chains: {changed} of {total} updated" if changed else f"chains: up to date ({total})"
    )


def migrate_summary(report: migrate.Report) -> str:
    if not report.applied:
        return f"mode: {report.mode}; applied: nothing (up to date)"
    applied = ", ".join(report.applied)
    return f"mode: {report.mode}; applied: {applied}; idempotent: {len(report.idempotent)} file(s)"


def run_until_signalled(main: Main) -> None:
    asyncio.run(_until_signalled(main))


async def _until_signalled(main: Main) -> None:
    """Run ``main(stop)``; SIGINT/SIGTERM set ``stop``, a second one gets the default action."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(received: signal.Signals) -> None:
        log.info("stopping", extra={"signal": received.name})
        stop.set()
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await main(stop)
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the command owns signals and shutdown order."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()  # set once the socket is bound and the lifespan ran

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready.set()


def api_server(config: Config, dsn: str | None, host: str, port: int) -> EmbeddedServer:
    # Imported here so that migrate, worker and version do not load the GraphQL stack (~0.5 s).
    from app import asgi

    app = asgi.create_app(config, dsn=dsn)
    asgi.freeze_startup_objects()
    # log_config=None: keep our JSON logging; bounded graceful shutdown for open connections.
    settings = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        timeout_graceful_shutdown=10,
        # The client address is the peer's: only the rate limiter reads X-Forwarded-For, and
        # only from TOKENPULSE_TRUSTED_PROXIES (uvicorn would trust any local peer's header).
        proxy_headers=False,
    )
    return EmbeddedServer(settings)


async def serve_api(server: EmbeddedServer, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set; a server that cannot start is a TokenpulseError."""

    async def stop_when_told() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_told())
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot bind or the lifespan fails
        where = f"{server.config.host}:{server.config.port}"
        raise TokenpulseError(f"the API could not start on {where} (see the log above)") from None
    finally:
        watcher.cancel()


@contextlib.contextmanager
def embedded_database(settings: Settings) -> Iterator[str]:
    """Start (first run: initialise) the private cluster; stop it on the way out."""
    account = cluster.run_as()
    cluster.server_bindir()  # fail before creating anything when PostgreSQL is missing
    pgdata, note = cluster.locate(settings.data_dir, account)
    if note:
        click.echo(note, err=True)
    embedded = cluster.Cluster(pgdata, port=settings.demo_pg_port)
    # Until the event loop owns signals, SIGTERM interrupts like Ctrl-C so the finally runs.
    signal.signal(signal.SIGTERM, _interrupt)
    shared = False
    try:
        started = embedded.start()
        shared = started.shared
        click.echo(f"database: embedded PostgreSQL in {pgdata} ({_how(started)})")
        yield started.dsn
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if not shared and embedded.stop():
            click.echo("embedded PostgreSQL stopped")


def _how(started: cluster.Started) -> str:
    if started.initialised:
        return f"new, port {started.port}"
    if started.reused:
        return f"already running, port {started.port}"
    return f"existing data, port {started.port}"


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


async def run_demo(config: Config, dsn: str | None, port: int, stop: asyncio.Event) -> None:
    """Migrate, then run the API and a worker in this loop until ``stop``; API stops first."""
    await migrate_and_sync(config, dsn)
    server = api_server(config, dsn, config.settings.host, port)
    worker_stop = asyncio.Event()
    api = asyncio.create_task(serve_api(server, stop), name="api")
    worker = asyncio.create_task(worker_runtime()(config, dsn=dsn, stop=worker_stop))
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(_announce(server))]
    try:
        await asyncio.wait([api, worker, waiters[0]], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        server.should_exit = True
        api_outcome = await asyncio.gather(api, return_exceptions=True)
        worker_stop.set()
        worker_outcome = await asyncio.gather(worker, return_exceptions=True)
    for outcome in (*api_outcome, *worker_outcome):
        if isinstance(outcome, BaseException):
            raise outcome


async def _announce(server: EmbeddedServer) -> None:
    await server.ready.wait()
    base = f"http://{server.config.host}:{server.config.port}"
    click.echo(
        f"Tokenpulse demo is running (Ctrl-C to stop)\n"
        f"  GraphiQL  {base}/graphql\n"
        f"  health    {base}/api/health\n"
        f"  metrics   {base}/metrics"
    )
