"""The deployment stack in docker/ is consistent (Docker cannot run here, so this is the proof):
a slim non-root image, pinned images, every mounted file present, ports that agree between
compose, the Dockerfile, nginx, Prometheus and Grafana, and every metric a dashboard or alert
rule queries actually exported by /metrics."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.asgi import create_app
from app.domain import DatabaseStatus, SchemaMode
from app.ops import health, health_detail
from app.ops.state import AppState
from app.store.ingest_status import IngestStatus
from app.store.job_runs import JobRuns
from tests.api.conftest import offline_config

DOCKER = Path(__file__).resolve().parents[2] / "docker"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
METRIC = re.compile(r"\btokenpulse_[a-z0-9_]+")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = _yaml(DOCKER / "compose.yaml")
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def _final_stage(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    return lines[starts[-1] :]


def _env(text: str, name: str) -> str:
    match = re.search(rf"\b{name}=(\S+)", text)
    assert match is not None, f"{name} is not set in the Dockerfile"
    return match.group(1).rstrip("\\").strip()


def test_the_image_is_slim_pinned_and_not_root() -> None:
    text = (DOCKER / "Dockerfile").read_text("utf-8")
    for line in (line for line in text.splitlines() if line.startswith("FROM ")):
        image = line.split()[1]
        assert ":" in image, f"unpinned base image {image}"
        assert "slim" in image, f"not a slim base image: {image}"
        assert not image.endswith(":latest")
    final = _final_stage(text)
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in final)
    assert "/healthz" in text
    assert f"EXPOSE {_env(text, 'TOKENPULSE_PORT')}" in final


def test_images_are_pinned_and_builds_exist(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "build" in service:
            build = service["build"]
            context = (DOCKER / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), name
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag, f"{name}: image {image} has no tag"
        assert tag != "latest", f"{name}: image {image} is not pinned"
    db = services["db"]["image"]
    assert re.fullmatch(r"timescale/timescaledb:\d+\.\d+\.\d+-pg\d+", db), db


def test_every_mounted_input_exists(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            parts = volume.split(":")
            if parts[0].startswith(".") and parts[-1] == "ro":
                assert (DOCKER / parts[0]).exists(), f"{name}: {parts[0]} is missing"


def test_dependencies_and_secrets(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for other in service.get("depends_on", []):
            assert other in services, f"{name} depends on unknown {other}"
        for key, value in (service.get("environment") or {}).items():
            if key.endswith(("_KEYS", "PASSWORD", "_TOKEN")):
                assert str(value).startswith("${"), f"{name}: {key} is written in the file"


def test_api_replicas_sit_behind_the_load_balancer(services: dict[str, Any]) -> None:
    api, worker, lb = services["api"], services["worker"], services["lb"]
    assert api["deploy"]["replicas"] >= 2
    assert "ports" not in api, "replicas cannot share a host port: the load balancer has it"
    assert worker["deploy"]["replicas"] >= 2  # one leads, one stands by
    image_port = _env((DOCKER / "Dockerfile").read_text("utf-8"), "TOKENPULSE_PORT")
    assert api["expose"] == [image_port]
    conf = (DOCKER / "nginx" / "nginx.conf").read_text("utf-8")
    assert f"http://api:{image_port}" in conf
    listen = re.search(r"listen (\d+);", conf)
    assert listen is not None
    host_port, container_port = lb["ports"][0].rsplit(":", 2)[-2:]
    assert container_port == listen.group(1)
    assert host_port == image_port  # clients keep the API's usual port


def test_prometheus_scrapes_every_api_replica_and_loads_the_rules(
    services: dict[str, Any],
) -> None:
    config = _yaml(DOCKER / "prometheus" / "prometheus.yml")
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["prometheus"]["volumes"]}
    for rule_file in config["rule_files"]:
        assert rule_file in mounts, f"{rule_file} is not mounted into prometheus"
        assert (DOCKER / mounts[rule_file]).is_file()
    api_job = next(job for job in config["scrape_configs"] if job["job_name"] == "tokenpulse-api")
    assert api_job["metrics_path"] == "/metrics"
    sd = api_job["dns_sd_configs"][0]
    assert sd["names"] == ["api"]
    assert str(sd["port"]) == services["api"]["expose"][0]


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards(
    services: dict[str, Any],
) -> None:
    grafana = services["grafana"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    provisioning = DOCKER / "grafana" / "provisioning"
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    source = _yaml(provisioning / "datasources" / "prometheus.yml")["datasources"][0]
    prometheus_port = services["prometheus"]["ports"][0].rsplit(":", 1)[1]
    assert source["url"] == f"http://prometheus:{prometheus_port}"
    provider = _yaml(provisioning / "dashboards" / "tokenpulse.yml")["providers"][0]
    assert provider["options"]["path"] == mounts["./grafana/dashboards"]


def _dashboards() -> list[tuple[Path, dict[str, Any]]]:
    paths = sorted((DOCKER / "grafana" / "dashboards").glob("*.json"))
    return [(path, json.loads(path.read_text("utf-8"))) for path in paths]


def _datasource_uids(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["uid"])] if "type" in node and "uid" in node and len(node) <= 3 else []
        return found + [uid for value in node.values() for uid in _datasource_uids(value)]
    if isinstance(node, list):
        return [uid for value in node for uid in _datasource_uids(value)]
    return []


def test_dashboards_parse_and_use_the_provisioned_datasource() -> None:
    dashboards = _dashboards()
    assert any(d["uid"] == "tokenpulse-overview" for _, d in dashboards)
    uids = [d["uid"] for _, d in dashboards]
    assert len(set(uids)) == len(uids), "two dashboards share a uid"
    provisioned = _yaml(DOCKER / "grafana/provisioning/datasources/prometheus.yml")
    uid = provisioned["datasources"][0]["uid"]
    for path, dashboard in dashboards:
        for found in _datasource_uids(dashboard.get("panels", [])):
            assert found == uid or found.startswith("$"), f"{path.name}: datasource {found}"


def _full_report(state: AppState) -> health.Report:
    """A report with every section filled, so every store-derived family has samples."""
    window = health_detail.Window(1, 10)
    key = health_detail.KeyUsage("etherscan:0123456789abcdef", "etherscan", "k", window,
                                 window, window, 1, 1, 1, False, 0.0)  # fmt: skip
    job = JobRuns("backfill", "h:1", NOW, NOW, "ok", 1.0, None, NOW, 0, 1, 0, NOW, NOW)
    detail = health_detail.Detail(
        keys=(key,),
        providers=(health_detail.ProviderCalls("etherscan", "ok", 1, 1, 1.0, 1.0, 1.0),),
        breakers=(health_detail.Breaker("b", "etherscan", "open", 5, NOW, NOW, 1.0),),
        jobs=(job,),
        analytics=health_detail.Analytics(0, None, {"analytics_hourly": NOW}, job),
        validation=health_detail.Validation(1, "nightly", NOW, 0.02, 0, 0.01),
        alerts=(health_detail.Alert(1, "k", "warning", None, "m", 1, NOW, NOW, None),),
    )
    workers = [{"worker_id": "w", "hostname": "h", "pid": 1, "role": "leader", "version": "t",
                "started_at": NOW - timedelta(hours=1), "heartbeat_at": NOW,
                "age_seconds": 1.0}]  # fmt: skip
    database = DatabaseStatus(True, 1.0, SchemaMode.PORTABLE, "17")
    chain = state.config.chains[0]
    covered = [{"chain_id": chain.id, "covered_blocks": 10, "ranges": 1,
                "first_covered_block": 1, "last_covered_block": 10}]  # fmt: skip
    synced = IngestStatus(chain.id, 12, 10, NOW, None, None, 0, None, {"inserted": 3}, NOW)
    snapshot = health.Snapshot(chains=covered, workers=workers, ingest=[synced], detail=detail)
    return health.assess(state, database, snapshot, NOW)


def _exported() -> set[str]:
    app = create_app(offline_config())
    state: AppState = app.state.tokenpulse
    state.cache.section("transfers", 1.0).get("k")
    counts = {chain.id: 1 for chain in state.config.chains}
    state.metrics.store.update(_full_report(state), state.cache.stats(), counts)
    state.metrics.observe("GET", "/api/health", 200, 0.01)
    return {sample.name for family in state.metrics.registry.collect() for sample in family.samples}


def _queried(text: str) -> set[str]:
    return set(METRIC.findall(text))


def test_every_metric_a_dashboard_or_rule_queries_is_exported() -> None:
    exported = _exported()
    texts = [path.read_text("utf-8") for path, _ in _dashboards()]
    alerts = DOCKER / "prometheus" / "alerts.yml"
    if alerts.exists():
        texts.append(alerts.read_text("utf-8"))
    queried = set().union(*(_queried(text) for text in texts))
    assert queried, "no dashboard queries a tokenpulse metric"
    assert queried <= exported, f"not exported: {sorted(queried - exported)}"


def test_the_sla_dashboard_has_a_provisioned_postgresql_datasource() -> None:
    source = _yaml(DOCKER / "grafana/provisioning/datasources/postgresql.yml")["datasources"][0]
    dashboard = (DOCKER / "grafana/dashboards/tokenpulse-sla.json").read_text()
    assert source["type"] in dashboard  # the dashboard's datasource variable picks this type
    assert source["url"].split(":")[0] == "db"
    assert "password" not in source  # never in plain text: from the environment
    assert source["secureJsonData"]["password"].startswith("$")
    grafana = _yaml(DOCKER / "compose.yaml")["services"]["grafana"]
    assert "db" in grafana["depends_on"]
    assert source["secureJsonData"]["password"][1:] in grafana["environment"]
