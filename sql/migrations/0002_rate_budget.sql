-- The upstream rate budget, shared by every process and surviving restarts.
-- One row per API key: the next time a call with it may start, today's call count against an
-- optional daily quota, and rate-limit back-off. Keys are identified by a fingerprint
-- ('etherscan:' || 16 hex of sha256(key), computed by app.upstreams) and the check below
-- refuses anything else, so a key can never be stored in plain text by mistake.
-- Both schema modes use these plain tables (small, hot rows: nothing to gain from hypertables).

create table rate_budget (
    key_id text primary key check (key_id ~ '^[a-z0-9_-]+:[0-9a-f]{16}$'),
    provider text not null,
    label text not null,
    next_allowed_at timestamptz not null,
    day date not null,  -- the UTC day calls_today counts
    calls_today integer not null default 0 check (calls_today >= 0),
    daily_quota integer check (daily_quota > 0),  -- null: no daily quota
    quota_exhausted boolean not null default false,  -- the last reservation was refused
    rate_limit_hits bigint not null default 0,
    backoff_until timestamptz,
    updated_at timestamptz not null default now()
);

-- Upstream calls per key, endpoint and outcome per UTC hour, for health and SLA figures.
create table upstream_calls (
    hour timestamptz not null,
    key_id text not null check (key_id ~ '^[a-z0-9_-]+:[0-9a-f]{16}$'),
    provider text not null,
    endpoint text not null,
    outcome text not null check (outcome in (
        'ok', 'empty', 'rate_limited', 'quota_exhausted', 'permanent', 'range_too_large',
        'transient'
    )),
    calls bigint not null check (calls > 0),
    total_latency_ms double precision not null default 0,
    max_latency_ms double precision not null default 0,
    primary key (hour, key_id, endpoint, outcome)
);

create index upstream_calls_provider_hour_idx on upstream_calls (provider, hour desc);
