"""The stack's processes: `tokenpulse` commands in process groups of their own, and polling.

Each process is a session leader, so stopping it stops whatever it started too, and nothing
outlives a run even when the suite itself fails (the caller's ExitStack stops them all).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

TOKENPULSE = Path(sys.executable).with_name("tokenpulse")
T = TypeVar("T")


class Timeout(RuntimeError):
    """Something the run waited for did not happen in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, every: float = 0.2) -> T:
    """Poll ``probe`` until it returns something other than None/False."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def environment(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without TOKENPULSE_* settings, plus ``env``."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("TOKENPULSE")}
    return {**base, "TOKENPULSE_LOG_FORMAT": "json", **env}


class Service:
    """One ``tokenpulse`` command, started again as often as asked (each start a new log part)."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], logs: Path) -> None:
        self.name, self.args, self.env, self.logs = name, args, dict(env), logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.starts += 1
        log = self.logs / f"{self.name}-{self.starts}.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(TOKENPULSE), *self.args],
                env=environment(self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group and, for SIGKILL, reap it."""
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        if sig is signal.SIGKILL:
            self.proc.wait(30)

    def stop(self, grace: float = 20) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; the exit status (None: never ran)."""
        if self.proc is None:
            return None
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.wait()

    def log_tail(self, chars: int = 2000) -> str:
        log = self.logs / f"{self.name}-{self.starts}.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def run(args: list[str], env: Mapping[str, str], timeout: float = 300) -> str:
    """A ``tokenpulse`` command to its end; its output, or RuntimeError with it."""
    done = subprocess.run(
        [str(TOKENPULSE), *args],
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tokenpulse {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` from /proc (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
