"""Fixtures of the security suite: one seeded database per schema mode for a whole module
(the fuzzers only read, so they share it), an app on it without the rate limit, and the
checks every answer must pass.

The fuzzing is derandomized (hypothesis ``derandomize=True``, no example database): every
run tries the same inputs, so CI is reproducible. ``TOKENPULSE_FUZZ_EXAMPLES=2000`` tries more
per target for a deeper local run.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from tests.api import transfer_data
from tests.api.conftest import seed
from tests.conftest import MODES, Server, create_database, drop_database, make_config

EXAMPLES = int(os.environ.get("TOKENPULSE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROWS = transfer_data.dataset(120)
ADMIN_TOKEN = "admin-token-for-the-security-suite-7f3a9c"
UNLIMITED = {"TOKENPULSE_RATE_LIMIT_PER_SECOND": "0", "TOKENPULSE_ADMIN_TOKEN": ADMIN_TOKEN}
# What must never reach a client: a traceback, driver or SQL error text, file paths.
LEAKS = (
    "Traceback",
    'File "/',
    "psycopg",
    "sqlstate",
    "syntax error at or near",
    "LINE 1:",
    "site-packages",
    "UndefinedColumn",
    "UndefinedTable",
)
_counter = itertools.count()


@pytest.fixture(scope="module", params=MODES)
def seeded(
    request: pytest.FixtureRequest, pg_server: Server, templates: dict[str, str]
) -> Iterator[Config]:
    """A migrated database of the mode with ROWS stored and covered, for the whole module."""
    name = f"tokenpulse_security_{next(_counter)}_{os.getpid()}"
    dsn = create_database(pg_server, name, template=templates[str(request.param)])
    config = make_config(dsn, **UNLIMITED)
    transfer_data.load(config, ROWS)
    seed(config, blocks=0, leader=True)
    yield config
    drop_database(pg_server, name)


@pytest.fixture(scope="module")
def api(seeded: Config) -> Iterator[TestClient]:
    with TestClient(create_app(seeded), raise_server_exceptions=False) as client:
        yield client


def row_counts(config: Config) -> dict[str, int]:
    """Rows of every table of the schema: proof that nothing was written, dropped or emptied."""
    assert config.settings.database_url is not None
    with psycopg.connect(config.settings.database_url.get_secret_value()) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'public' and table_type = 'BASE TABLE' order by 1"
        ).fetchall()
        return {
            str(name): int(conn.execute(f'select count(*) from public."{name}"').fetchone()[0])  # type: ignore[index]
            for (name,) in tables
        }


def assert_safe(response: httpx.Response, inputs: Iterable[str] = (), *, html: bool = False) -> Any:
    """No 5xx, a JSON body (``html``: or an HTML page), no leak (unless the client sent that
    very text), and for a 4xx the REST envelope or GraphQL errors with a code. Returns the
    parsed body."""
    status, text = response.status_code, response.text
    assert status < 500, f"{status}: {text[:500]}"
    sent = " ".join(inputs).lower()
    for leak in LEAKS:
        if leak.lower() not in sent:
            assert leak.lower() not in text.lower(), f"{leak!r} in {text[:500]}"
    if status == 304:
        return None
    if html and status < 400 and response.headers["content-type"].startswith("text/html"):
        return None  # the status page (its errors are JSON like every other route's)
    assert response.headers["content-type"].startswith("application/json"), text[:200]
    body = json.loads(text)
    if status >= 400:
        assert_coded(body)
    return body


def assert_coded(body: Any) -> None:
    """Every error carries a stable code, and none is ``internal`` (a masked crash)."""
    if "errors" in body:  # GraphQL
        codes = [error["extensions"]["code"] for error in body["errors"]]
    else:
        codes = [body["error"]["code"]]
    for code in codes:
        assert isinstance(code, str), body
        assert code not in ("", "internal"), body
