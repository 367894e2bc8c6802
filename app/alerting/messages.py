"""What people read: an alert's opening, reminder or resolve as a subject line and a text
(Slack mrkdwn and the email body share it). Pure; secrets are redacted by the channels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PRODUCT = "tokenpulse"
_MARK = {"opened": "\U0001f534", "reminder": "\U0001f501", "resolved": "\u2705"}  # 🔴 🔁 ✅


@dataclass(frozen=True, slots=True)
class Notice:
    """One alert event to announce."""

    event: str  # opened, reminder or resolved
    kind: str
    severity: str
    message: str
    dedupe_key: str
    started_at: datetime
    resolved_at: datetime | None = None
    occurrences: int = 1
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str

    def slack_payload(self) -> dict[str, Any]:
        """A Slack incoming-webhook body: ``text`` (also the notification) plus one block.

        Slack reads ``&``, ``<`` and ``>`` as markup (links, mentions): escaped, as it asks.
        """
        text = self.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        return {"text": text, "blocks": [block]}


def render(notice: Notice) -> Message:
    state = _state(notice)
    headline = f"{state} {notice.kind}: {notice.message}"
    lines = [f"{_MARK.get(notice.event, '')} {headline}".strip(), _when(notice)]
    lines.append(f"key {notice.dedupe_key} · {PRODUCT} · see docs/runbook.md#{notice.kind}")
    return Message(subject=f"[{PRODUCT}] {headline}"[:200], text="\n".join(lines))


def _state(notice: Notice) -> str:
    if notice.event == "resolved":
        return "RESOLVED"
    if notice.event == "reminder":
        return f"STILL {notice.severity.upper()}"
    return notice.severity.upper()


def _when(notice: Notice) -> str:
    since = f"since {_utc(notice.started_at)}"
    if notice.resolved_at is not None:
        held = (notice.resolved_at - notice.started_at).total_seconds()
        return f"{since}, resolved {_utc(notice.resolved_at)} (held {_duration(held)})"
    seen = f", seen {notice.occurrences} times" if notice.occurrences > 1 else ""
    return since + seen


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
