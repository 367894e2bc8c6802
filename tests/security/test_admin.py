"""Admin mutations through the whole API: without the token nothing changes (401
UNAUTHENTICATED), with another token or a malformed header neither (403 FORBIDDEN, or 401),
with the admin's the change is made; no answer echoes a token; and with no admin token
configured, admin is off even for a client that sends one."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from tests.conftest import make_config
from tests.security.conftest import ADMIN_TOKEN, assert_safe

SET = 'mutation { setSetting(key: "cache_ttl_transfers_seconds", value: "%s") { changed } }'
READ = "{ runtimeSettings { key value } }"
REFUSED = [
    ({}, "UNAUTHENTICATED"),
    ({"Authorization": "Bearer"}, "UNAUTHENTICATED"),
    ({"Authorization": "Basic " + ADMIN_TOKEN}, "UNAUTHENTICATED"),
    ({"Authorization": "Bearer " + ADMIN_TOKEN[:-1]}, "FORBIDDEN"),
    ({"Authorization": "Bearer " + ADMIN_TOKEN + "x"}, "FORBIDDEN"),
    ({"Authorization": "Bearer " + ADMIN_TOKEN.upper()}, "FORBIDDEN"),
    ({"Authorization": "Bearer ' OR 1=1 --"}, "FORBIDDEN"),
]


def ttl(api: TestClient) -> Any:
    settings = api.post("/graphql", json={"query": READ}).json()["data"]["runtimeSettings"]
    return next(s["value"] for s in settings if s["key"] == "cache_ttl_transfers_seconds")


@pytest.mark.parametrize(("headers", "code"), REFUSED)
def test_a_mutation_without_the_admin_token_changes_nothing(
    api: TestClient, headers: dict[str, str], code: str
) -> None:
    before = ttl(api)
    response = api.post("/graphql", json={"query": SET % "42"}, headers=headers)
    body = assert_safe(response, [ADMIN_TOKEN])
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert ADMIN_TOKEN[:-1] not in response.text
    assert ttl(api) == before


def test_the_admin_token_makes_the_change(api: TestClient) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = api.post("/graphql", json={"query": SET % "17"}, headers=headers)
    assert response.json() == {"data": {"setSetting": {"changed": True}}}
    assert float(ttl(api)) == 17
    assert ADMIN_TOKEN not in response.text


def test_admin_is_off_without_a_configured_token(seeded: Config) -> None:
    assert seeded.settings.database_url is not None
    config = make_config(seeded.settings.database_url.get_secret_value())
    assert config.settings.admin_token is None
    with TestClient(create_app(config)) as api:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = api.post("/graphql", json={"query": SET % "42"}, headers=headers).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
