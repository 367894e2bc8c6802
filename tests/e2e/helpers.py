"""Helpers for tests that run the real ``tokenpulse`` console script as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.conftest import TEST_ENV

TOKENPULSE = Path(sys.executable).with_name("tokenpulse")
T = TypeVar("T")


def environment(*, test_keys: bool = True, **env: str) -> dict[str, str]:
    """This process's environment without TOKENPULSE_* settings, plus the test keys and ``env``."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("TOKENPULSE")}
    keys = TEST_ENV if test_keys else {}
    return {**base, **keys, "TOKENPULSE_LOG_FORMAT": "console", **env}


def run(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOKENPULSE), *args],
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll ``probe`` until it returns something other than None/False; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (e.g. a cluster directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found
