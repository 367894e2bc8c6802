"""The upstream simulator served from a thread of a CLI process (``simulate``, ``demo``).

:func:`demo_simulator` is the demo's: port 9545, or a free port when that is taken, and the
configuration reloaded to point every chain at it.

The simulator runs its own event loop on a daemon thread rather than in the command's loop:

- uvicorn installs its own SIGINT/SIGTERM handlers when it serves from the main thread, and
  re-raises the signal after shutting down; the command owns signals (app.cli), so the
  simulator must serve from another thread, where uvicorn leaves signals alone;
- answering a big ``getLogs`` (and generating history) is CPU work that would otherwise stall
  the API and the worker sharing the demo's loop.

``start`` returns once the port accepts connections (or raises if the server died, e.g. the
port was taken); ``stop`` cancels the serving task and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import click

from app import config as app_config
from app import simulator
from app.config import Config
from app.errors import TokenpulseError

Serve = Callable[[], Coroutine[Any, Any, None]]
DEMO_SEED = 1  # the demo's simulated world; the same seed gives the same history every start
# The demo's key is a simulator Free key, 3 calls/s per account: the demo paces it at 2.5/s.
# Measured on a fresh data dir: at the default 1/s the ten chains show transfers after ~42 s
# and are all Fresh after ~58 s, too close to the minute a new user should wait; at 2.5/s,
# after ~25 s and ~29 s.
DEMO_CALLS_PER_SECOND = 2.5


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nothing listens on right now (the OS's choice)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def accepts(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


class SimulatorThread(threading.Thread):
    def __init__(self, serve: Serve, host: str, port: int) -> None:
        super().__init__(name="simulator", daemon=True)
        self._serve = serve
        self.host = host
        self.port = port
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._serve())
            self._ready.set()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # SystemExit: uvicorn could not bind
            self.error = exc
        finally:
            self._ready.set()
            loop.close()

    def start_serving(self, timeout: float = 30.0) -> None:
        """Start the thread; return once the port answers, or raise TokenpulseError."""
        self.start()
        deadline = time.monotonic() + timeout
        while not accepts(self.host, self.port):
            if not self.is_alive() or time.monotonic() > deadline:
                self.stop()
                why = f" ({self.error!r})" if self.error else ""
                raise TokenpulseError(f"the simulator could not start on {self.url}{why}")
            time.sleep(0.05)

    async def until_stopped(self, stop: asyncio.Event) -> None:
        """Wait for ``stop``; raise TokenpulseError if the server dies first."""
        while not stop.is_set():
            if not self.is_alive():
                raise TokenpulseError(f"the simulator stopped: {self.error!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    def stop(self, timeout: float = 15.0) -> None:
        self._ready.wait(timeout)
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)
        self.join(timeout)


@contextlib.contextmanager
def demo_simulator(config: Config) -> Iterator[Config]:
    """Serve the simulator on a thread, on port 9545 or a free one when that is taken, and
    yield the configuration pointed at it. A TOKENPULSE_SIMULATOR_URL elsewhere is used as is."""
    url = config.settings.simulator_url
    if url != app_config.DEMO_SIMULATOR_URL:
        click.echo(f"simulator: {url} (TOKENPULSE_SIMULATOR_URL)")
        yield config
        return
    host = "127.0.0.1"
    port = simulator.DEFAULT_PORT
    if not port_is_free(host, port):
        port = free_port(host)
    sim = simulator.Simulator(seed=DEMO_SEED, chains_file=config.settings.chains_file)
    thread = SimulatorThread(lambda: simulator.serve(sim, host=host, port=port), host, port)
    thread.start_serving()
    try:
        click.echo(f"simulator: {thread.url} (embedded, seed {DEMO_SEED})")
        yield demo_config(config, thread.url)
    finally:
        thread.stop()


def demo_config(config: Config, simulator_url: str) -> Config:
    """The demo's configuration against its own simulator, whose key plan it knows."""
    overrides: dict[str, Any] = {"simulator_url": simulator_url}
    if "upstream_calls_per_second" not in config.settings.model_fields_set:  # the user's wins
        overrides["upstream_calls_per_second"] = DEMO_CALLS_PER_SECOND
    return app_config.load(demo=True, **overrides)
