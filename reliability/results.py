"""Where runs keep their figures: ``reliability/results/<suite>-<UTC time>.json`` (and a copy as
``<suite>-latest.json``), plus the run's process logs in a folder of the same name."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent / "results"


def run_folder(suite: str, base: Path = ROOT) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = base / f"{suite}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def machine() -> dict[str, Any]:
    """What else the machine was doing: the suites share two cores with other work."""
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "loadAverage": [round(value, 2) for value in load],
        "python": platform.python_version(),
    }


def write(folder: Path, suite: str, result: dict[str, Any]) -> Path:
    text = json.dumps(result, indent=2, sort_keys=False) + "\n"
    path = folder.with_suffix(".json")
    path.write_text(text)
    (folder.parent / f"{suite}-latest.json").write_text(text)
    return path
