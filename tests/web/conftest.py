"""Headless Chromium and a live server for the status page's browser test.

Chromium comes from Debian's ``chromium`` package: ``make test`` installs it (``make
chromium``); when it is missing here the fixture tries ``apt-get install -y chromium`` once
(as root, from the configured mirror) and skips with the reason only if that fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from app.asgi import create_app
from app.config import Config
from tests.api.conftest import offline

__all__ = ["offline"]  # the app on an unreachable database, for tests/web too

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "artifacts"
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def _install() -> str | None:
    """Why chromium cannot be had, or None once it is installed."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "chromium is not installed and apt-get cannot run here (needs root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "chromium"]
    done = subprocess.run(install, capture_output=True, text=True, timeout=900, env=env)
    if done.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600, env=env)
        done = subprocess.run(install, capture_output=True, text=True, timeout=900, env=env)
    if done.returncode != 0:
        return f"apt-get install -y chromium failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        problem = _install()
        path = shutil.which("chromium")
        if path is None:
            pytest.skip(problem or "chromium is not on PATH after installing it")
    return path


@pytest.fixture
def live_server(config: Config) -> Iterator[str]:
    """The API app served by uvicorn on a free loopback port, in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level="warning", lifespan="on", ws="none")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def browse(chromium: str, url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """One headless run; --virtual-time-budget lets the page's script fetch and render."""
    command = [
        chromium,
        *BROWSER_FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=3000",
        "--window-size=1200,2400",
        *extra,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
