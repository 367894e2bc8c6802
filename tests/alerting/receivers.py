"""Local stand-ins for the alert channels: a webhook receiver (a tiny asyncio HTTP server on
127.0.0.1) and an SMTP server (aiosmtpd, with AUTH over plain text since tests have no TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "alerts-bot"
SMTP_PASSWORD = "smtp-pass-Zx81secret"
HOOK_TOKEN = "T0001/B0002/hook-token-Qw3rty9secret"


@dataclass
class Webhook:
    """Answers each POST with 200 and records its JSON body; ``fail_next`` answers 500."""

    port: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    fail_next: int = 0
    refused: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/{HOOK_TOKEN}"

    @property
    def texts(self) -> list[str]:
        return [str(body["text"]) for body in self.bodies]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        sizes = [line.split(":", 1)[1] for line in lines if line.lower().startswith("content-len")]
        length = int(sizes[0])
        body = await reader.readexactly(length)
        if self.fail_next > 0:
            self.fail_next -= 1
            self.refused += 1
            answer = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"
        else:
            self.paths.append(lines[0].split(" ")[1])
            self.bodies.append(json.loads(body))
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        writer.write(answer)
        await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Webhook]:
    hook = Webhook()
    server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
    hook.port = server.sockets[0].getsockname()[1]
    try:
        yield hook
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class Mailbox:
    port: int = 0
    mails: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    @property
    def subjects(self) -> list[str]:
        return [str(mail["Subject"]) for mail in self.mails]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            SMTP_USER,
            SMTP_PASSWORD,
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=box.port,  # not 0: the controller connects to it to know it is up
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def channel_env(hook: Webhook, box: Mailbox) -> dict[str, str]:
    """Settings pointing both alert channels at the local receivers."""
    return {
        "TOKENPULSE_ALERT_SLACK_WEBHOOK_URL": hook.url,
        "TOKENPULSE_ALERT_SMTP_HOST": "127.0.0.1",
        "TOKENPULSE_ALERT_SMTP_PORT": str(box.port),
        "TOKENPULSE_ALERT_SMTP_USER": SMTP_USER,
        "TOKENPULSE_ALERT_SMTP_PASSWORD": SMTP_PASSWORD,
        "TOKENPULSE_ALERT_SMTP_FROM": "tokenpulse@example.org",
        "TOKENPULSE_ALERT_SMTP_TO": "oncall@example.org, backup@example.org",
        "TOKENPULSE_ALERT_SMTP_STARTTLS": "false",
    }
