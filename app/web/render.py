"""The status page's HTML, rendered from a health report (pure: tests call it directly).

Every value that reaches the markup is escaped. Sections that the store could not give say
so ("unknown", "not available yet") rather than showing an empty, healthy-looking table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from importlib import resources
from typing import TYPE_CHECKING

from app.ops.health import ChainHealth, Report
from app.ops.health_detail import Detail, KeyUsage, Window
from app.web import svg

if TYPE_CHECKING:
    from app.store.sla import SourceStats

_STATIC = resources.files("app.web") / "static"
STYLE = (_STATIC / "status.css").read_text("utf-8")
SCRIPT = (_STATIC / "status.js").read_text("utf-8")
_TONES = {"ok": "ok", "fresh": "ok", "closed": "ok", "degraded": "warn", "lagging": "warn"}
_TONES |= {"half_open": "warn", "down": "bad", "stale": "bad", "cold": "bad", "open": "bad"}
_TONES |= {"failed": "bad", "critical": "bad", "warning": "warn", "info": "info"}


def page(report: Report, sla: Mapping[str, Sequence[SourceStats]], now: datetime) -> str:
    sections = (
        _chains(report.chains),
        _breakers(report.detail),
        _budgets(report.detail),
        _sla(report.detail, sla),
        _jobs(report.detail),
        _aggregates(report.detail),
        _alerts(report.detail),
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Tokenpulse status: {escape(report.status.value)}</title>"
        f"<style>{STYLE}</style></head>"
        f'<body data-status="{escape(report.status.value)}"><main>'
        f"{_header(report, now)}{''.join(sections)}</main>"
        f"<script>{SCRIPT}</script></body></html>"
    )


def badge(text: str) -> str:
    return f'<span class="badge {_TONES.get(text, "muted")}">{escape(text)}</span>'


def when(moment: datetime | None) -> str:
    if moment is None:
        return '<span class="muted">never</span>'
    iso = moment.isoformat().replace("+00:00", "Z")
    return f'<time datetime="{iso}">{escape(moment.strftime("%Y-%m-%d %H:%M:%S"))} UTC</time>'


def num(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    cells = "".join(f"<th>{escape(name)}</th>" for name in head)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def section(ident: str, title: str, *parts: str) -> str:
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def unknown(what: str) -> str:
    return f'<p class="unknown">{escape(what)}</p>'


def _header(report: Report, now: datetime) -> str:
    reasons = "".join(f"<li>{escape(text)}</li>" for text in report.reasons)
    mode = report.schema_mode.value if report.schema_mode else "not migrated"
    facts = (
        f"version {escape(report.version)} · up {num(report.uptime_seconds / 3600, ' h', 1)}"
        f" · database {'reachable' if report.database.ok else 'unreachable'}"
        f" ({escape(mode)}) · ingester {escape(report.ingester.value)}"
    )
    return (
        f'<header><h1>Tokenpulse status <span id="overall">{badge(report.status.value)}</span>'
        f'</h1><p class="facts">{facts} · rendered {when(now)}</p>'
        f'<ul id="reasons">{reasons}</ul>'
        '<p id="live" data-live="pending">Live updates: waiting for the first refresh…</p>'
        "</header>"
    )


def _chains(chains: Sequence[ChainHealth]) -> str:
    enabled = [item for item in chains if item.chain.enabled]
    rows = [
        (
            escape(item.chain.name),
            badge(item.warm.warm.value),
            escape(item.warm.reading.reason),
            num(item.warm.reading.head_lag_blocks),
            num(item.warm.reading.since_success_seconds, " s"),
            num(item.covered_blocks),
            num(item.warm.status.consecutive_failures if item.warm.status else 0),
        )
        for item in enabled
    ]
    lag = [
        svg.Bar(
            item.chain.name,
            item.warm.reading.since_success_seconds or 0.0,
            num(item.warm.reading.since_success_seconds, " s"),
            _TONES.get(item.warm.warm.value, "muted"),
        )
        for item in enabled
    ]
    head = ("chain", "warm", "why", "head lag (blocks)", "since sync", "covered", "failures")
    chart = svg.bars("Seconds since each chain's last successful sync", lag)
    return section("chains", "Chains", table(head, rows, "No chain is enabled."), chart)


def _breakers(detail: Detail) -> str:
    if detail.breakers is None:
        return section("breakers", "Circuit breakers", unknown("Unknown: not recorded yet."))
    rows = [
        (escape(b.name), escape(b.provider), badge(b.state), num(b.failures),
         num(b.open_seconds, " s"), when(b.changed_at))
        for b in detail.breakers
    ]  # fmt: skip
    head = ("breaker", "provider", "state", "failures", "open for", "changed")
    return section("breakers", "Circuit breakers", table(head, rows, "No breaker recorded."))


def _budgets(detail: Detail) -> str:
    if detail.keys is None:
        return section("budgets", "Rate budgets", unknown("Unknown: could not read."))
    rows = [_budget_row(key) for key in detail.keys]
    head = ("provider", "key", "last hour", "last 24 h", "today / quota", "rate limited 1 h")
    charts = [
        svg.bars(f"Budget used per key, {name}", [_budget_bar(k, pick(k)) for k in detail.keys], 1)
        for name, pick in (("last hour", _hour), ("last 24 h", _day))
    ]
    return section("budgets", "Rate budgets", table(head, rows, "No key used yet."), *charts)


def _hour(key: KeyUsage) -> Window:
    return key.last_hour


def _day(key: KeyUsage) -> Window:
    return key.last_day


def _budget_bar(key: KeyUsage, window: Window) -> svg.Bar:
    share = window.used / window.allowed if window.allowed else 0.0
    tone = "bad" if share >= 0.98 else "warn" if share >= 0.8 else "ok"
    return svg.Bar(f"{key.provider} {key.label or key.key_id}", share, f"{share:.0%}", tone)


def _budget_row(key: KeyUsage) -> Sequence[str]:
    def window(used: int, allowed: int | None) -> str:
        return f"{used:,} / {num(allowed)}"

    return (
        escape(key.provider),
        f"{escape(key.label or '')} <code>{escape(key.key_id)}</code>",
        window(key.last_hour.used, key.last_hour.allowed),
        window(key.last_day.used, key.last_day.allowed),
        window(key.today.used, key.today.allowed),
        num(key.rate_limited_1h),
    )


def _sla(detail: Detail, sla: Mapping[str, Sequence[SourceStats]]) -> str:
    parts = [_source_sla(kind, sla.get(kind)) for kind in ("price", "finality")]
    calls = [
        svg.Bar(
            f"{item.provider} {item.outcome}",
            item.avg_latency_ms_24h or 0.0,
            f"{num(item.avg_latency_ms_24h, ' ms')} avg · {item.calls_24h:,} call(s)",
            "ok" if item.outcome in ("ok", "empty") else "warn",
        )
        for item in detail.providers or ()
    ]
    ledger = svg.bars("Upstream calls, mean latency over 24 h", calls) or (
        '<p class="muted">No upstream call in the last 24 h.</p>'
    )
    return section(
        "sla", "SLA", *parts, "<h3>Explorer and RPC calls (the call ledger, 24 h)</h3>", ledger
    )


def _source_sla(kind: str, rows: Sequence[SourceStats] | None) -> str:
    title = f"<h3>{escape(kind.capitalize())} sources: latency p50 / p95 / p99 and success</h3>"
    if rows is None:
        text = (
            f"Not available yet: fills in once {kind} observations are recorded"
            f" ({kind}_observations)."
        )
        return title + f'<p class="unknown" data-sla="{kind}-pending">{escape(text)}</p>'
    body = [
        (escape(r.source), escape(r.window_name), num(r.calls), f"{r.success_rate:.1%}",
         num(r.p50_ms, " ms"), num(r.p95_ms, " ms"), num(r.p99_ms, " ms"))
        for r in rows
    ]  # fmt: skip
    head = ("source", "window", "calls", "success", "p50", "p95", "p99")
    daily = [r for r in rows if r.window_name == "24h"]
    chart = svg.bars(
        f"{kind} p95 latency over 24 h",
        [svg.Bar(r.source, r.p95_ms, f"p95 {num(r.p95_ms, ' ms')}", _sla_tone(r)) for r in daily],
    )
    empty = "No observation in the last 24 h."
    return title + f'<div data-sla="{kind}">{table(head, body, empty)}{chart}</div>'


def _sla_tone(row: SourceStats) -> str:
    return "ok" if row.success_rate >= 0.99 else "warn" if row.success_rate >= 0.9 else "bad"


def _jobs(detail: Detail) -> str:
    if detail.jobs is None:
        return section("jobs", "Scheduler jobs", unknown("Unknown: not recorded yet."))
    rows = [
        (escape(j.job), badge(j.last_outcome), when(j.last_finished_at),
         num(j.last_duration_ms, " ms"), num(j.consecutive_failures), when(j.next_run_at),
         escape(j.last_error or ""))
        for j in detail.jobs
    ]  # fmt: skip
    head = ("job", "last outcome", "last run", "took", "failures in a row", "next run", "error")
    return section("jobs", "Scheduler jobs", table(head, rows, "No job has run yet."))


def _aggregates(detail: Detail) -> str:
    parts: list[str] = []
    if detail.analytics is None:
        parts.append(unknown("Aggregates: unknown."))
    else:
        marks = [
            (escape(name), when(moment))
            for name, moment in sorted(detail.analytics.watermarks.items())
        ]
        parts.append(table(("aggregate", "materialized up to"), marks, "No aggregate."))
        parts.append(
            f"<p>{detail.analytics.dirty_ranges} backfilled range(s) waiting for a refresh.</p>"
        )
    item = detail.validation
    if item is None:
        parts.append('<p class="muted">No validation run yet.</p>')
    else:
        variance = "—" if item.max_variance is None else f"{item.max_variance:.2%}"
        parts.append(
            f"<p>Latest validation ({escape(item.origin)}, {when(item.finished_at)}): largest"
            f" variance {variance} against a {item.threshold:.2%} threshold;"
            f" {item.flagged} figure(s) flagged.</p>"
        )
    return section("aggregates", "Aggregates and validation", *parts)


def _alerts(detail: Detail) -> str:
    if detail.alerts is None:
        return section("alerts", "Recent alerts", unknown("Unknown: could not read."))
    rows = [
        (badge(a.severity), escape(a.kind), escape(a.message), num(a.occurrences),
         when(a.created_at), "open" if a.resolved_at is None else when(a.resolved_at))
        for a in detail.alerts
    ]  # fmt: skip
    head = ("severity", "kind", "message", "seen", "since", "resolved")
    return section("alerts", "Recent alerts", table(head, rows, "No alert."))
