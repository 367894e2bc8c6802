"""Admin authentication: 401 without credentials, 403 with wrong ones or with admin turned off."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from app import config as app_config
from app.config import Settings
from app.ops import admin_auth
from tests.conftest import TEST_ENV

TOKEN = "s3cret-admin-token-0123456789"


def settings(token: str | None = TOKEN) -> Settings:
    env = {} if token is None else {"TOKENPULSE_ADMIN_TOKEN": token}
    return app_config.load({**TEST_ENV, **env}).settings


def test_the_right_token_passes() -> None:
    admin_auth.check(settings(), f"Bearer {TOKEN}", operation="t")
    admin_auth.check(settings(), f"bearer   {TOKEN} ", operation="t")


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer   ", f"Basic {TOKEN}", TOKEN, f"Token {TOKEN}"]
)
def test_missing_credentials_are_unauthenticated(header: str | None) -> None:
    with pytest.raises(admin_auth.Unauthenticated) as caught:
        admin_auth.check(settings(), header, operation="t")
    assert (caught.value.status, caught.value.code) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize("presented", ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "é"])
def test_a_wrong_token_is_forbidden(presented: str) -> None:
    with pytest.raises(admin_auth.Forbidden) as caught:
        admin_auth.check(settings(), f"Bearer {presented}", operation="t")
    assert (caught.value.status, caught.value.code) == (403, "FORBIDDEN")


@pytest.mark.parametrize("configured", [None, "", "   "])
def test_without_a_configured_token_admin_is_disabled(configured: str | None) -> None:
    for header in (None, "Bearer ", "Bearer anything"):
        with pytest.raises(admin_auth.Forbidden) as caught:
            admin_auth.check(settings(configured), header, operation="t")
        assert "TOKENPULSE_ADMIN_TOKEN is not set" in caught.value.message


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    admin_auth.check(settings(), f"Bearer {TOKEN}", operation="t")
    digest = hashlib.sha256(TOKEN.encode()).digest()
    assert seen == [(digest, digest)]  # equal lengths whatever was presented


def test_tokens_never_reach_the_log_or_the_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    near_miss = TOKEN[:-1] + "X"
    with pytest.raises(admin_auth.Forbidden) as caught:
        admin_auth.check(settings(), f"Bearer {near_miss}", operation="setSetting")
    text = caplog.text + repr([r.__dict__ for r in caplog.records]) + caught.value.message
    assert TOKEN not in text
    assert near_miss not in text
    assert "setSetting" in text


def test_the_configured_token_is_a_redacted_secret() -> None:
    config = app_config.load({**TEST_ENV, "TOKENPULSE_ADMIN_TOKEN": TOKEN})
    assert TOKEN in config.secrets
    assert TOKEN not in repr(config.settings)


def _app(token: str | None) -> TestClient:
    conf = settings(token)

    async def endpoint(request: Request) -> Response:
        refused = admin_auth.guard(request, conf, operation="test")
        return refused or JSONResponse({"ok": True})

    return TestClient(Starlette(routes=[Route("/admin", endpoint, methods=["POST"])]))


def test_guard_answers_json_with_the_status_and_code() -> None:
    client = _app(TOKEN)
    ok = client.post("/admin", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (ok.status_code, ok.json()) == (200, {"ok": True})
    missing = client.post("/admin")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "UNAUTHENTICATED"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post("/admin", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "FORBIDDEN"
    assert TOKEN not in json.dumps(wrong.json())


def test_guard_with_admin_disabled_says_why() -> None:
    answer = _app(None).post("/admin", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 403
    assert answer.json()["error"] == {
        "code": "FORBIDDEN",
        "message": admin_auth.DISABLED,
        "field": None,
    }


def test_a_configured_token_with_stray_whitespace_still_matches() -> None:
    admin_auth.check(settings(f"  {TOKEN}\n"), f"Bearer {TOKEN}", operation="t")
