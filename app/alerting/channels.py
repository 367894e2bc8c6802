"""Where alert messages go: a Slack-compatible incoming webhook and email over SMTP.

Every text is redacted (app.logging.Redactor over the configuration's secrets) before it
leaves, and so is every error a channel raises, so neither a message nor a log line nor the
alert_deliveries table ever holds the webhook URL or the SMTP password. SMTP uses the stdlib
in a thread: a slow mail server holds only the delivery job, never the event loop.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from app.alerting.messages import Message
from app.config import Config, Settings
from app.logging import Redactor
from app.upstreams import webhook


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    async def send(self, message: Message) -> None:
        """Deliver, or raise (any exception counts as a failed attempt)."""


@dataclass(frozen=True, slots=True)
class Slack:
    url: str = field(repr=False)  # the URL is the credential
    timeout: float
    transport: Any = None  # an httpx transport, for tests
    name: str = "slack"

    async def send(self, message: Message) -> None:
        await webhook.post_json(
            self.url, message.slack_payload(), wait_seconds=self.timeout, transport=self.transport
        )


@dataclass(frozen=True, slots=True)
class Email:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    timeout: float
    starttls: bool = True
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    name: str = "email"

    async def send(self, message: Message) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = make_msgid(domain="tokenpulse")
        mail.set_content(message.text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail)


@dataclass(frozen=True, slots=True)
class Redacting:
    """A channel whose texts and errors pass through the redactor."""

    inner: Channel
    redact: Redactor

    @property
    def name(self) -> str:
        return self.inner.name

    async def send(self, message: Message) -> None:
        clean = Message(self.redact(message.subject), self.redact(message.text))
        try:
            await self.inner.send(clean)
        except Exception as exc:
            raise DeliveryFailed(self.redact(f"{type(exc).__name__}: {exc}")) from None


class DeliveryFailed(Exception):
    """A channel refused or could not take a message (the text is redacted)."""


def configured(config: Config, *, transport: Any = None) -> dict[str, Channel]:
    """The channels the settings configure, by name (none: alerts are only stored)."""
    s, redact = config.settings, Redactor(config.secrets)
    found: list[Channel] = []
    if s.alert_slack_webhook_url is not None:
        url = s.alert_slack_webhook_url.get_secret_value()
        found.append(Slack(url, s.alert_timeout_seconds, transport))
    email = _email(s)
    if email is not None:
        found.append(email)
    return {c.name: Redacting(c, redact) for c in found}


def _email(s: Settings) -> Email | None:
    recipients = tuple(a.strip() for a in (s.alert_smtp_to or "").split(",") if a.strip())
    if not (s.alert_smtp_host and s.alert_smtp_from and recipients):
        return None
    password = s.alert_smtp_password
    return Email(
        host=s.alert_smtp_host,
        port=s.alert_smtp_port,
        sender=s.alert_smtp_from,
        recipients=recipients,
        timeout=s.alert_timeout_seconds,
        starttls=s.alert_smtp_starttls,
        user=s.alert_smtp_user,
        password=None if password is None else password.get_secret_value(),
    )
