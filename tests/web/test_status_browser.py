"""The status page in headless Chromium: the DOM after its script ran (the live banner
filled from /api/health), every section rendered, and a screenshot kept as an artifact
(build/artifacts/status-page.png)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from app.config import Config
from tests.api.conftest import seed
from tests.api.test_health_detail import _seed_detail
from tests.web.conftest import ARTIFACTS, browse


@pytest.fixture
def mode() -> str:
    """The browser checks the page, not the schema: one mode is enough (the page's data in
    both modes is covered by tests/web/test_status_page.py)."""
    return "portable"


def test_the_page_renders_and_its_script_runs(
    chromium: str, config: Config, live_server: str, tmp_path: Path
) -> None:
    seed(config, leader=True, synced=True)
    asyncio.run(_seed_detail(config))

    dumped = browse(chromium, f"{live_server}/status", tmp_path / "profile", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    # The script fetched /api/health and wrote the live banner (the server renders "pending").
    assert 'data-live="degraded"' in dom, dom[:3000]
    assert "Live: degraded at" in dom
    # Relative ages were written into <time> elements by the script.
    assert "data-ago=" in dom
    for heading in ("Chains", "Circuit breakers", "Rate budgets", "SLA", "Scheduler jobs"):
        assert f">{heading}</h2>" in dom
    for chain in config.chains:
        if chain.enabled:
            assert chain.name in dom
    assert "etherscan:1 logs" in dom  # the open breaker
    assert "supply differs by 5%" in dom  # the alert
    assert "<svg" in dom

    shot = tmp_path / "status.png"
    taken = browse(chromium, f"{live_server}/status", tmp_path / "profile2", f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.stat().st_size > 10_000  # a blank page is a few hundred bytes
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "status-page.png")
