"""Outgoing webhooks (the alert channel for Slack-compatible incoming webhooks).

It lives in app.upstreams because only this package may speak HTTP. An incoming-webhook URL
is itself the credential (its path holds the token), so no error message here ever contains
the URL or the response headers: only the status code and a short, redacted piece of the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from app.upstreams import _redact
from app.upstreams._redact import redact
from app.upstreams.errors import UpstreamUnavailable

BODY_EXCERPT = 200  # characters of a refusal's body kept for the operator


class WebhookFailed(UpstreamUnavailable):
    """The webhook did not accept the message."""

    code = "webhook_failed"


async def post_json(
    url: str,
    payload: Mapping[str, Any],
    *,
    wait_seconds: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """POST ``payload`` as JSON to ``url`` (each phase of the exchange bounded by
    ``wait_seconds``); raises WebhookFailed unless answered 2xx."""
    # httpx logs every request's URL at INFO: the redacting filter must know this one.
    _redact.register([url])
    _redact.install_log_filter()
    try:
        async with httpx.AsyncClient(
            timeout=wait_seconds, transport=transport, follow_redirects=False
        ) as client:
            response = await client.post(url, json=dict(payload))
    except httpx.HTTPError as exc:
        # httpx puts the URL in some messages: keep the exception's type and redacted text.
        text = redact(f"{type(exc).__name__}: {exc}", [url])
        raise WebhookFailed(text, provider="webhook") from None
    if not response.is_success:
        body = redact(response.text[:BODY_EXCERPT], [url])
        raise WebhookFailed(f"HTTP {response.status_code}: {body}", provider="webhook")
