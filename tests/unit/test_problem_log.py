"""Background connections log a problem once when it starts and once when it is over."""

from __future__ import annotations

import logging

import pytest

from app.ops.problems import ProblemLog

log = logging.getLogger("tests.problem_log")


def test_a_repeated_problem_is_logged_once_then_its_end(caplog: pytest.LogCaptureFixture) -> None:
    problems = ProblemLog(log, "connected again")
    with caplog.at_level(logging.INFO, logger=log.name):
        problems.report(None)  # fine from the start: nothing to say
        for _ in range(3):
            problems.report("cannot connect", OSError("refused"))
        problems.report("lost its connection", OSError("reset"))
        problems.report(None)
        problems.report(None)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "cannot connect: refused"),
        ("WARNING", "lost its connection: reset"),
        ("INFO", "connected again"),
    ]
