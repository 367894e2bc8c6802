-- Core schema shared by both modes: chains, transfers, the coverage ledger.
-- sql/timescale/0001_core.sql then turns transfers into a hypertable;
-- sql/portable/0001_core.sql gives it its plain-table primary key.

create extension if not exists btree_gist;

create table chains (
    chain_id integer primary key check (chain_id > 0),
    name text not null,
    slug text not null unique,
    provider text not null check (provider in ('etherscan', 'explorer', 'rpc')),
    token_address bytea not null check (octet_length(token_address) = 20),
    decimals smallint not null check (decimals between 0 and 36),
    first_block bigint not null check (first_block >= 0),
    finality text not null,
    block_time_seconds double precision not null check (block_time_seconds > 0),
    enabled boolean not null,
    updated_at timestamptz not null default now()
);

-- One row per ERC-20 Transfer log. Identity is (chain_id, tx_hash, log_index); hashes and
-- addresses are raw bytes (half the size of hex text, and index-friendly).
create table transfers (
    chain_id integer not null,
    block_time timestamptz not null,
    block_number bigint not null check (block_number >= 0),
    block_hash bytea not null check (octet_length(block_hash) = 32),
    tx_hash bytea not null check (octet_length(tx_hash) = 32),
    log_index integer not null check (log_index >= 0),
    tx_index integer check (tx_index >= 0),
    from_address bytea not null check (octet_length(from_address) = 20),
    to_address bytea not null check (octet_length(to_address) = 20),
    value numeric(78, 0) not null check (value >= 0),
    -- Etherscan tokentx fields the legacy rows carried, where the source provides them.
    nonce bigint,
    gas bigint,
    gas_price numeric(78, 0),
    gas_used bigint,
    cumulative_gas_used bigint,
    method_id text,
    function_name text,
    source text not null check (source in ('etherscan', 'explorer', 'rpc')),
    ingested_at timestamptz not null default now()
);

-- Keyset order of the API: newest first within a chain, ties broken by block and log index.
create index transfers_chain_time_idx
    on transfers (chain_id, block_time desc, block_number desc, log_index desc);
create index transfers_chain_block_idx on transfers (chain_id, block_number);
create index transfers_from_idx on transfers (from_address, block_time desc);
create index transfers_to_idx on transfers (to_address, block_time desc);
create index transfers_tx_idx on transfers (tx_hash);

-- Block ranges ingested per chain (inclusive), kept merged and never overlapping: a ledger of
-- coverage rather than a single cursor, so gaps are visible and re-ingestion is safe.
create table coverage (
    chain_id integer not null references chains (chain_id),
    blocks int8range not null check (not isempty(blocks)),
    updated_at timestamptz not null default now(),
    exclude using gist (chain_id with =, blocks with &&)
);

create table worker_heartbeats (
    worker_id text primary key,
    hostname text not null,
    pid integer not null,
    role text not null check (role in ('leader', 'standby')),
    version text not null,
    started_at timestamptz not null,
    heartbeat_at timestamptz not null default now()
);
