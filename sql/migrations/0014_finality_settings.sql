-- Finality per chain and runtime settings (issue #8, part 2).

-- Every finality probe of every chain, failures included (ok = false, no blocks): the
-- finality API serves the newest good row per chain, "finality last advanced" is the first
-- row that saw the chain's highest finalized block, and the SLA statistics (latency
-- percentiles, success rate per source) are computed from these rows. A hypertable in
-- timescale mode (sql/timescale/0014_finality_settings.sql), a plain table otherwise.
create table finality_observations (
    observed_at timestamptz not null,  -- when the probe was sent
    chain_id integer not null check (chain_id > 0),
    source text not null,  -- rpc, etherscan, explorer: who answered
    ok boolean not null,
    latency_ms double precision not null check (latency_ms >= 0),
    latest_block bigint check (latest_block >= 0),
    safe_block bigint check (safe_block >= 0),  -- null: the source was not asked / has none
    finalized_block bigint check (finalized_block >= 0),
    latest_time timestamptz,
    finalized_time timestamptz,
    outcome text not null,  -- 'ok' or the upstream error's code (upstream_rate_limited, ...)
    detail text,  -- redacted reason of a failure; never a key or URL
    check (ok = (outcome = 'ok')),
    check (not ok or latest_block is not null)
);
create index finality_observations_chain_idx
    on finality_observations (chain_id, observed_at desc);
create index finality_observations_source_idx
    on finality_observations (source, observed_at desc);

-- Runtime-tunable settings (app.ops.settings): a row overrides the environment's value of
-- one safe knob in every API process; deleting it goes back to the environment. Values are
-- stored as the text an operator typed, validated by the application before they get here.
create table runtime_settings (
    key text primary key check (key ~ '^[a-z][a-z0-9_]*$'),
    value text not null,
    updated_at timestamptz not null default now(),
    updated_by text not null  -- 'cli' or 'graphql'
);
