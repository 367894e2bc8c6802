-- Analytics aggregates (docs/analysts.md, docs/architecture.md "Analytics aggregates").
--
-- Both modes: the exact structures that distinct counts need, as plain tables kept by
-- analytics_refresh_days() (sql/idempotent/040_analytics.sql), and the ledger of old ranges a
-- backfill touched. The per-bucket sums (analytics_hourly, analytics_daily_base) come from the
-- mode file: continuous aggregates in timescale mode, plain tables in portable mode.
--
-- Why a table per (chain, day, address) rather than distinct counts in the aggregates: a
-- distinct count per bucket cannot be summed over a window (an address active on two days
-- would count twice), and a continuous aggregate cannot produce one row per address from both
-- sides of a transfer (no UNION, no LATERAL). With one row per address and day, a window's
-- unique addresses are count(distinct address) over its days: exact for any window, and it
-- also gives the top addresses of a window without touching transfers.

-- One row per (chain, UTC day, address) that sent or received that day. A self-transfer
-- counts as one sent and one received. Sums are plain numeric: two uint256 values overflow
-- numeric(78, 0).
create table analytics_address_daily (
    chain_id integer not null,
    day timestamptz not null,
    address bytea not null check (octet_length(address) = 20),
    sent_transfers integer not null,
    received_transfers integer not null,
    sent_volume numeric not null,
    received_volume numeric not null,
    primary key (chain_id, day, address)
);
-- Windows over every chain: index-only scans of (day, address) for count(distinct address).
create index analytics_address_daily_day_idx on analytics_address_daily (day, address);

-- One row per (chain, address) ever active, with a bit per UTC day since its first_day: set
-- in `sent` when it sent that day, in `received` when it received. A window's distinct
-- senders, receivers or active addresses are the rows with a set bit inside the window: one
-- pass over the addresses active since the window's start (last_day bounds the scan), however
-- many days and transfers the window holds. first_day and last_day are bounds (a cleared bit
-- leaves them); bit k of both bitmaps is first_day + k, and both have the same length.
create table analytics_address_days (
    chain_id integer not null,
    address bytea not null check (octet_length(address) = 20),
    first_day date not null,
    last_day date not null check (last_day >= first_day),
    sent bit varying not null,
    received bit varying not null,
    primary key (chain_id, address)
);
create index analytics_address_days_chain_last_idx on analytics_address_days (chain_id, last_day);
create index analytics_address_days_last_idx on analytics_address_days (last_day);

-- Distinct addresses and the median transfer of each (chain, day), and of each day over every
-- chain together under chain_id 0 (an address active on two chains counts once there, so the
-- global row is not the sum of the chains' rows). Derived from analytics_address_daily and
-- transfers by the same refresh.
create table analytics_daily_uniques (
    chain_id integer not null check (chain_id >= 0),
    day timestamptz not null,
    senders integer not null,
    receivers integer not null,
    active_addresses integer not null,
    median_value numeric not null,
    primary key (chain_id, day)
);

-- Time ranges written by ingestion older than the recent refresh covers (a backfill, a
-- repair): app.store.analytics.mark_rows fills it in the write's transaction, the
-- analytics_refresh job refreshes each range, then deletes it.
create table analytics_dirty (
    id bigint generated always as identity primary key,
    chain_id integer not null,
    from_time timestamptz not null,
    to_time timestamptz not null check (to_time >= from_time),
    recorded_at timestamptz not null default now()
);
