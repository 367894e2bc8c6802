-- Reconciliation (app/ingest/reconcile.py): every sampled block window the worker compared
-- with an independent fetch of the same blocks, what it found, and whether it repaired it.
-- A plain table in both schema modes: a few rows per chain and run.

create table reconciliation_runs (
    id bigint generated always as identity primary key,
    chain_id integer not null references chains (chain_id),
    block_lo bigint not null check (block_lo >= 0),
    block_hi bigint not null check (block_hi >= block_lo),
    -- Where the independent answer came from, e.g. 'etherscan:tokentx', 'rpc:eth_getLogs'.
    source text not null check (source <> ''),
    -- 'identity' compares (tx_hash, log_index); 'multiset' compares (tx_hash, from, to, value)
    -- counts, for sources without log indexes (Etherscan tokentx). Null: nothing was compared.
    compared_by text check (compared_by in ('identity', 'multiset')),
    stored_count integer not null check (stored_count >= 0),
    upstream_count integer check (upstream_count >= 0),  -- null: the fetch failed
    missing integer check (missing >= 0),  -- upstream rows the store lacked
    extra integer check (extra >= 0),  -- stored rows the upstream does not have
    mismatched integer check (mismatched >= 0),  -- same identity, other value/from/to
    repaired boolean not null default false,  -- the window's rows were replaced
    rows_deleted integer not null default 0 check (rows_deleted >= 0),
    rows_inserted integer not null default 0 check (rows_inserted >= 0),
    error text,  -- a stable error code (upstream_unavailable, sources_disagree, ...), never a URL
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    check (finished_at >= started_at),
    check (not repaired or error is null)
);

-- The newest run of a chain (health, totals) and a chain's recent runs.
create index reconciliation_runs_chain_newest_idx
    on reconciliation_runs (chain_id, started_at desc, id desc);
