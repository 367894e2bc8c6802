"""Secrets never leave: with known values for every secret setting (explorer API keys, the
database password, the admin token, the Slack webhook URL, the SMTP password, reconciliation
RPC URLs), no answer of any route (health, probes, metrics and error bodies included), no line
of the process's log output (as ``app.logging`` writes it) and no row of the database holds
one. Also with the database down, when error texts are most tempting to pass on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from starlette.testclient import TestClient

from app import logging as app_logging
from app.asgi import create_app
from app.config import Config
from tests.api import transfer_data
from tests.api.conftest import OFFLINE_DSN, offline_config
from tests.conftest import make_config
from tests.security.conftest import ROWS

SECRETS = {
    "TOKENPULSE_ETHERSCAN_API_KEYS": "ethkeyAAAA1111secret,ethkeyBBBB2222secret",
    "TOKENPULSE_CRONOS_API_KEYS": "cronoskeyCCCC3333secret",
    "TOKENPULSE_ADMIN_TOKEN": "admintokenDDDD4444secret",
    "TOKENPULSE_ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T0/B0/webhookEEEE5555",
    "TOKENPULSE_ALERT_SMTP_PASSWORD": "smtppassFFFF6666secret",
    "TOKENPULSE_RECONCILE_RPC_URLS": "137=https://rpc.example/v2/rpckeyGGGG7777secret",
}
DB_PASSWORD = "dbpassHHHH8888secret"
# The distinctive part of each: what must appear nowhere.
NEEDLES = [
    "ethkeyAAAA1111secret",
    "ethkeyBBBB2222secret",
    "cronoskeyCCCC3333secret",
    "admintokenDDDD4444secret",
    "webhookEEEE5555",
    "smtppassFFFF6666secret",
    "rpckeyGGGG7777secret",
    DB_PASSWORD,
]
GRAPHQL = [
    "{ health { status database { ok error mode } warnings { code message } workers { pid } } }",
    "{ chains { id name coverage { ranges } } warmStatus { chainId lastError reason } version }",
    "{ totals { transfers { value source } chains { chainId supply { value source } } } }",
    '{ transfers(first: 5) { nodes { id } } search(query: "0x1") { found } }',
    "{ runtimeSettings { key value } }",
    '{ address(address: "nope") { address } }',
    "{ nope }",
    "not graphql",
    'mutation { setSetting(key: "cache_ttl_transfers_seconds", value: "20") { __typename } }',
]
PATHS = [
    "/api/health",
    "/api/cache-health",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/transfers?pageSize=3",
    "/api/transfers?address=bad",
    "/api/search?query=0x1",
    "/api/address/0x0000000000000000000000000000000000000001",
    "/api/address/bad",
    "/api/chains",
    "/api/holders",
    "/api/stats",
    "/api/totals",
    "/api/info",
    "/api/analytics",
    "/api/analytics?timeRange=custom&from=x",
    "/api/price",
    "/api/token-price",
    "/api/finality",
    "/status",
    "/nowhere",
    "/api/" + "x" * 5000,
]


OUTAGE_PATHS = ["/api/health", "/readyz", "/metrics", "/api/transfers", "/status"]


def with_password(dsn: str) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc.replace("@", f":{DB_PASSWORD}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The process's logging set up as `tokenpulse serve` does, into a file; restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    path = tmp_path / "api.log"
    yield path
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def serve(config: Config, log_file: Path, *, outage: bool = False) -> str:
    """Every request of PATHS and GRAPHQL, anonymous and as admin: all answers as one text
    (``outage``: the requests that report the database, once: each waits for it)."""
    settings = config.settings.model_copy(update={"log_file": log_file, "log_level": "DEBUG"})
    app_logging.configure(settings, config.secrets)
    answers = []
    with TestClient(create_app(config), raise_server_exceptions=False) as api:
        admin = {"Authorization": f"Bearer {SECRETS['TOKENPULSE_ADMIN_TOKEN']}"}
        for auth in ({}, admin) if not outage else ({},):
            for path in PATHS if not outage else OUTAGE_PATHS:
                answers.append(_dump(api.get(path, headers=auth)))
            for query in GRAPHQL if not outage else GRAPHQL[:1]:
                answers.append(_dump(api.post("/graphql", json={"query": query}, headers=auth)))
            big = {"query": "{ version }", "pad": "x" * 70_000}
            answers.append(_dump(api.post("/graphql", json=big, headers=auth)))
        wrong = {"Authorization": "Bearer wrong-token"}
        answers.append(_dump(api.post("/graphql", json={"query": GRAPHQL[-1]}, headers=wrong)))
    return "\n".join(answers)


def _dump(response: object) -> str:
    headers = json.dumps(dict(getattr(response, "headers", {})))
    return f"{getattr(response, 'status_code', '')} {headers} {getattr(response, 'text', '')}"


def assert_nowhere(text: str, where: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"a secret ({needle[:8]}…) appears in {where}"


def test_no_secret_in_any_answer_log_or_row(database_url: str, log_file: Path) -> None:
    config = make_config(with_password(database_url), **SECRETS)
    assert config.settings.database_url is not None
    transfer_data.load(config, ROWS[:30])
    answers = serve(config, log_file)
    assert "admin" in answers or "setting" in answers.lower()  # the mutation was answered
    assert_nowhere(answers, "an answer")
    logged = log_file.read_text("utf-8")
    assert '"event": "request"' in logged  # the log was written as the process writes it
    assert_nowhere(logged, "the log")
    assert_nowhere(_database_text(config.settings.database_url.get_secret_value()), "the database")


def test_no_secret_while_the_database_is_down(log_file: Path) -> None:
    config = offline_config(TOKENPULSE_DATABASE_URL=with_password(OFFLINE_DSN), **SECRETS)
    answers = serve(config, log_file, outage=True)
    assert "database_unavailable" in answers or "unavailable" in answers
    assert_nowhere(answers, "an answer")
    assert_nowhere(log_file.read_text("utf-8"), "the log")


def _database_text(dsn: str) -> str:
    """Every row of every table of the schema, as JSON text."""
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'public' and table_type = 'BASE TABLE'"
        ).fetchall()
        rows = [
            str(row[0])
            for (name,) in tables
            for row in conn.execute(f'select row_to_json(t)::text from public."{name}" t')
        ]
    return "\n".join(rows)
