"""The log file rotates by size by default, or by time when TOKENPULSE_LOG_ROTATE_WHEN is set."""

from __future__ import annotations

import json
import logging
import logging.handlers
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import logging as app_logging
from app.errors import ConfigError
from tests.conftest import make_config

SECRET = "rotation-secret-key-1234"


@pytest.fixture(autouse=True)
def restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_size_rotation_is_the_default(tmp_path: Path) -> None:
    settings = make_config(TOKENPULSE_LOG_MAX_BYTES="1000").settings
    handler = app_logging.file_handler(settings, tmp_path / "api.log")
    try:
        assert type(handler) is logging.handlers.RotatingFileHandler
        assert handler.maxBytes == 1000
    finally:
        handler.close()


def test_time_rotation_keeps_json_lines_and_redaction(tmp_path: Path) -> None:
    path = tmp_path / "api.log"
    config = make_config(
        TOKENPULSE_LOG_FILE=str(path),
        TOKENPULSE_LOG_ROTATE_WHEN="S",
        TOKENPULSE_LOG_ROTATE_INTERVAL="1",
        TOKENPULSE_LOG_BACKUP_COUNT="3",
    )
    app_logging.configure(config.settings, [SECRET])
    log = logging.getLogger("tests.rotation")
    log.warning("first with %s", SECRET)
    time.sleep(1.1)  # the next record falls in the next second: the file rotates first
    log.warning("second")
    rotated = sorted(p for p in tmp_path.iterdir() if p.name.startswith("api.log."))
    assert len(rotated) == 1, "one file rotated away, with a time suffix"
    first = json.loads(rotated[0].read_text("utf-8").splitlines()[0])
    assert first["event"] == f"first with {app_logging.REDACTED}"
    assert [json.loads(line)["event"] for line in path.read_text("utf-8").splitlines()] == [
        "second"
    ]


def test_an_unknown_rotation_unit_is_refused() -> None:
    with pytest.raises(ConfigError, match="TOKENPULSE_LOG_ROTATE_WHEN"):
        make_config(TOKENPULSE_LOG_ROTATE_WHEN="fortnight")
