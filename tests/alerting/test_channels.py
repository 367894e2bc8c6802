"""The channels without a network: the webhook client on httpx.MockTransport, redaction of
every text and error, which settings turn channels on, and the rendered messages."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import httpx
import pytest

from app.alerting import channels, messages
from app.alerting.channels import DeliveryFailed, Redacting
from app.alerting.messages import Message, Notice
from app.logging import Redactor
from app.upstreams import webhook
from tests.conftest import make_config

URL = "https://hooks.example.org/services/T1/B2/very-secret-token-123"
STARTED = datetime(2026, 11, 29, 22, 0, 0, tzinfo=UTC)


async def test_the_webhook_posts_json_and_accepts_any_2xx() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    mock = httpx.MockTransport(answer)
    await webhook.post_json(URL, {"text": "hi"}, wait_seconds=1, transport=mock)
    assert seen[0].method == "POST"
    assert json.loads(seen[0].content) == {"text": "hi"}
    assert seen[0].headers["content-type"] == "application/json"


async def test_webhook_failures_never_show_the_url(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text=f"invalid_token for {URL}")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {URL}")

    caplog.set_level(logging.DEBUG)
    with pytest.raises(webhook.WebhookFailed) as refused:
        await webhook.post_json(URL, {}, wait_seconds=1, transport=httpx.MockTransport(refuse))
    assert str(refused.value) == "webhook: HTTP 403: invalid_token for ***"
    with pytest.raises(webhook.WebhookFailed) as failed:
        await webhook.post_json(URL, {}, wait_seconds=1, transport=httpx.MockTransport(unreachable))
    assert str(failed.value) == "webhook: ConnectError: cannot connect to ***"
    assert "very-secret-token" not in caplog.text


async def test_texts_and_errors_are_redacted() -> None:
    sent: list[Message] = []

    class Leaky:
        name = "slack"

        async def send(self, message: Message) -> None:
            sent.append(message)
            raise RuntimeError(f"refused by {URL}")

    channel = Redacting(Leaky(), Redactor([URL, "hunter2-password"]))
    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(Message("about hunter2-password", f"see {URL}"))
    assert sent == [Message("about ***", "see ***")]
    assert str(failed.value) == "RuntimeError: refused by ***"


def test_channels_are_on_when_configured_and_their_secrets_redacted() -> None:
    assert channels.configured(make_config()) == {}
    config = make_config(
        TOKENPULSE_ALERT_SLACK_WEBHOOK_URL=URL,
        TOKENPULSE_ALERT_SMTP_HOST="smtp.example.org",
        TOKENPULSE_ALERT_SMTP_FROM="tp@example.org",
        TOKENPULSE_ALERT_SMTP_TO=" a@example.org ,b@example.org,",
        TOKENPULSE_ALERT_SMTP_PASSWORD="hunter2-password",
    )
    found = channels.configured(config)
    assert list(found) == ["slack", "email"]
    email = found["email"]
    assert isinstance(email, Redacting)
    assert isinstance(email.inner, channels.Email)
    assert email.inner.recipients == ("a@example.org", "b@example.org")
    assert (email.inner.port, email.inner.starttls) == (587, True)
    assert {URL, "hunter2-password"} <= set(config.secrets)
    assert URL not in repr(found)
    assert "hunter2" not in repr(found)
    # Email needs a host, a sender and recipients.
    partial = make_config(TOKENPULSE_ALERT_SMTP_HOST="smtp.example.org")
    assert channels.configured(partial) == {}


def test_messages_read_well() -> None:
    opened = Notice("opened", "chain_stale", "critical", "Polygon (137) is stale: x",
                    "chain_stale:137", STARTED, occurrences=3)  # fmt: skip
    text = messages.render(opened)
    assert text.subject == "[tokenpulse] CRITICAL chain_stale: Polygon (137) is stale: x"
    assert text.text.splitlines() == [
        "\U0001f534 CRITICAL chain_stale: Polygon (137) is stale: x",
        "since 2026-11-29 22:00:00 UTC, seen 3 times",
        "key chain_stale:137 · tokenpulse · see docs/runbook.md#chain_stale",
    ]
    resolved = Notice("resolved", "chain_stale", "critical", "Polygon (137) is stale: x",
                      "chain_stale:137", STARTED,
                      resolved_at=STARTED.replace(minute=21))  # fmt: skip
    lines = messages.render(resolved).text.splitlines()
    assert lines[0] == "\u2705 RESOLVED chain_stale: Polygon (137) is stale: x"
    assert lines[1] == (
        "since 2026-11-29 22:00:00 UTC, resolved 2026-11-29 22:21:00 UTC (held 21 min)"
    )
    reminder = Notice("reminder", "worker_down", "critical", "m", "worker_down", STARTED)
    assert messages.render(reminder).subject == "[tokenpulse] STILL CRITICAL worker_down: m"
    payload = messages.render(reminder).slack_payload()
    assert payload["text"] == payload["blocks"][0]["text"]["text"]
    marked = Message("s", "a <b> & c").slack_payload()
    assert marked["text"] == "a &lt;b&gt; &amp; c"
