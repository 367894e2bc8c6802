"""docker/prometheus/alerts.yml: well-formed rule groups (promtool is not available here),
one rule at least for every in-process alert kind, every expression naming metrics the API
exports, and every runbook link pointing at a section of docs/runbook.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.alerting import rules
from tests.unit import test_deployment

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "docker" / "prometheus" / "alerts.yml"
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
METRIC = re.compile(r"\btokenpulse_[a-z0-9_]+")


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES_FILE.read_text("utf-8"))
    assert set(data) == {"groups"}
    found: list[dict[str, Any]] = []
    for group in data["groups"]:
        assert set(group) <= {"name", "rules", "interval"}
        assert group["name"]
        found += group["rules"]
    return found


def _anchors(markdown: str) -> set[str]:
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    headings = re.findall(r"^#{1,6} (.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^a-z0-9_ -]", "", h.lower()).replace(" ", "-") for h in headings}


RULES = _rules()


@pytest.mark.parametrize("rule", RULES, ids=[r["alert"] for r in RULES])
def test_each_rule_is_well_formed(rule: dict[str, Any]) -> None:
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
    assert re.fullmatch(r"Tokenpulse[A-Za-z]+", rule["alert"])
    assert isinstance(rule["expr"], str)
    assert rule["expr"].count("(") == rule["expr"].count(")")
    assert METRIC.search(rule["expr"]), "an expression must read a Tokenpulse metric"
    if "for" in rule:
        assert DURATION.match(rule["for"])
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"]
    page, _, anchor = rule["annotations"]["runbook"].partition("#")
    assert page == "docs/runbook.md"
    assert anchor in _anchors((ROOT / page).read_text("utf-8"))


def test_every_in_process_alert_kind_has_a_prometheus_rule() -> None:
    kinds = {rule["labels"]["kind"] for rule in RULES}
    assert {kind.value for kind in rules.Kind} <= kinds


def test_every_metric_the_rules_read_is_exported() -> None:
    queried = {name for rule in RULES for name in METRIC.findall(rule["expr"])}
    exported = test_deployment._exported()  # the API's registry with every family filled
    assert queried <= exported, sorted(queried - exported)


def test_the_runbook_has_a_section_for_every_alert_kind() -> None:
    anchors = _anchors((ROOT / "docs" / "runbook.md").read_text("utf-8"))
    assert {kind.value for kind in rules.Kind} <= anchors
