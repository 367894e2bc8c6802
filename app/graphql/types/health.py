"""Health of the API process, its database and the ingestion workers."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from app.domain import SchemaMode
from app.graphql.types import health_detail as detail
from app.graphql.types.warm import ChainWarmStatus
from app.ops.health import Status

# Registered under their GraphQL names; annotations use the enums themselves.
strawberry.enum(
    Status,
    name="HealthStatus",
    description="OK; DEGRADED: serving but needs attention (see warnings); DOWN: no database.",
)
strawberry.enum(SchemaMode, description="How the store's schema was built.")


@strawberry.enum(description="A worker's part in leader election.")
class WorkerRole(enum.Enum):
    LEADER = "leader"
    STANDBY = "standby"


@strawberry.type(description="The result of a real round trip to the database.")
class DatabaseHealth:
    ok: bool
    latency_ms: float | None
    mode: SchemaMode | None = strawberry.field(description="Null before the first migrate.")
    server_version: str | None
    error: str | None


@strawberry.type(description="An ingestion worker, from its heartbeat row.")
class Worker:
    worker_id: str
    hostname: str
    pid: int
    role: WorkerRole
    version: str
    started_at: datetime
    heartbeat_at: datetime
    age_seconds: float = strawberry.field(description="Seconds since its last heartbeat.")
    alive: bool = strawberry.field(description="Heartbeat younger than three intervals.")


@strawberry.type(description="Something that needs attention.")
class HealthWarning:
    scope: str = strawberry.field(description="store, ingester or chain:<id>.")
    code: str
    message: str
    retryable: bool = strawberry.field(description="Whether waiting may fix it.")


@strawberry.type(description="Health of the API, its database and the ingestion workers.")
class Health:
    status: Status
    version: str
    uptime_seconds: float
    started_at: datetime
    checked_at: datetime
    database: DatabaseHealth
    ingester: Status = strawberry.field(
        description="OK with a live leader, DEGRADED with standbys only, DOWN with none."
    )
    workers: list[Worker]
    warnings: list[HealthWarning]
    notification_queue_depth: int | None = strawberry.field(
        description="Batch notifications waiting for the cache refresher (null: not listening)."
    )
    reasons: list[str] = strawberry.field(description="Why the status is not OK (empty if OK).")
    chains: list[ChainWarmStatus] = strawberry.field(description="Warm status and lag per chain.")
    budgets: list[detail.KeyBudget] | None = strawberry.field(
        description="Rate budget per API key over 1 h, 24 h and today (null: unreadable)."
    )
    upstreams: list[detail.UpstreamCalls] | None
    breakers: detail.Breakers
    jobs: detail.Jobs
    analytics: detail.AnalyticsHealth | None
    validation: detail.ValidationHealth | None = strawberry.field(
        description="The latest validation run (null: none yet)."
    )
    alerts: list[detail.AlertHealth] | None = strawberry.field(
        description="Open alerts, then the most recently resolved (at most 20)."
    )
