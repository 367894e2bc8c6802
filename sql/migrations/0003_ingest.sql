-- Ingestion state (app/ingest): each chain's tip-cycle status, the block hashes the reorg
-- check compares above finality, and a log of the reorgs handled.
-- Both schema modes use these plain tables: small rows, written once per cycle.

-- One row per chain, upserted by every sync_tip cycle: what health and warm status read.
create table ingest_status (
    chain_id integer primary key references chains (chain_id),
    head bigint check (head >= 0),
    safe_head bigint,  -- the finality point: blocks at or below it are never re-checked
    last_success_at timestamptz,
    last_error_at timestamptz,
    last_error text,  -- redacted upstream text, never a key or URL
    consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
    backoff_until timestamptz,  -- advice for the scheduler after repeated failures
    last_cycle jsonb,  -- the last successful cycle's SyncReport
    updated_at timestamptz not null default now()
);

-- Checkpoints above finality: the head each cycle saw, by hash. Blocks holding transfers are
-- checked through transfers.block_hash; these catch reorgs of blocks that hold none (a new
-- fork may add transfers where the old one had none). Pruned once below the finality point.
create table block_hashes (
    chain_id integer not null references chains (chain_id),
    block_number bigint not null check (block_number >= 0),
    block_hash bytea not null check (octet_length(block_hash) = 32),
    block_time timestamptz,
    recorded_at timestamptz not null default now(),
    primary key (chain_id, block_number)
);

-- Every reorg the tip cycle handled: rows above fork_block were deleted and the range
-- (fork_block, head] re-ingested in the same transaction.
create table reorg_events (
    id bigint generated always as identity primary key,
    chain_id integer not null references chains (chain_id),
    fork_block bigint not null check (fork_block >= 0),  -- the highest block kept
    head bigint not null check (head >= fork_block),
    depth integer not null check (depth >= 0),  -- head - fork_block: blocks re-ingested
    rows_deleted integer not null check (rows_deleted >= 0),
    rows_inserted integer not null check (rows_inserted >= 0),
    detected_at timestamptz not null default now()
);

create index reorg_events_chain_time_idx on reorg_events (chain_id, detected_at desc);
