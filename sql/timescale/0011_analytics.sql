-- Timescale mode: the per-bucket sums as continuous aggregates.
--
-- WITH NO DATA: a continuous aggregate cannot be materialized inside a transaction block, and
-- every migration runs in one (app/store/migrate.py). Existing transfers are materialized by
-- `tokenpulse backfill-analytics` or, for recent buckets, by the refresh policies.
--
-- Real-time aggregation is on (materialized_only = false) at both levels, so the open buckets
-- above each watermark are computed from the raw rows at query time; the daily level reads
-- the hourly one, so real-time rows flow up (a materialized-only middle layer would stop them).

select create_hypertable('analytics_address_daily', by_range('day', interval '30 days'));

create materialized view analytics_hourly
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select time_bucket(interval '1 hour', block_time) as bucket,
       chain_id,
       count(*) as transfers,
       sum(value) as volume,
       sum(value * value) as volume_squares,
       max(value) as largest,
       count(*) filter (where from_address = '\x0000000000000000000000000000000000000000'::bytea)
           as mints,
       coalesce(sum(value) filter (
           where from_address = '\x0000000000000000000000000000000000000000'::bytea), 0)
           as minted,
       count(*) filter (where to_address = '\x0000000000000000000000000000000000000000'::bytea)
           as burns,
       coalesce(sum(value) filter (
           where to_address = '\x0000000000000000000000000000000000000000'::bytea), 0)
           as burned,
       count(distinct from_address) as senders,
       count(distinct to_address) as receivers
from transfers
group by 1, 2
with no data;

-- Daily sums built on the hourly aggregate (hierarchical): every value here rolls up (sums,
-- max). Distinct counts do not, so they come from analytics_daily_uniques instead.
create materialized view analytics_daily_base
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select time_bucket(interval '1 day', bucket) as day,
       chain_id,
       sum(transfers)::bigint as transfers,
       sum(volume) as volume,
       sum(volume_squares) as volume_squares,
       max(largest) as largest,
       sum(mints)::bigint as mints,
       sum(minted) as minted,
       sum(burns)::bigint as burns,
       sum(burned) as burned
from analytics_hourly
group by 1, 2
with no data;

-- Chunks sized so hourly retention drops a week at a time (the default would be 10x the
-- transfers' 30 days), and daily history, kept for ever, stays in few chunks.
select set_chunk_time_interval('analytics_hourly', interval '7 days');
select set_chunk_time_interval('analytics_daily_base', interval '180 days');

-- Policies refresh recent buckets only; older writes (backfills) are refreshed explicitly
-- from analytics_dirty. The newest bucket is left out (end_offset of one bucket): real-time
-- aggregation serves it without rewriting it on every run. Daily never reaches further back
-- than hourly keeps rows (retention, at least 1 day: TOKENPULSE_ANALYTICS_HOURLY_RETENTION_DAYS).
select add_continuous_aggregate_policy('analytics_hourly',
    start_offset => interval '3 days', end_offset => interval '1 hour',
    schedule_interval => interval '5 minutes');
select add_continuous_aggregate_policy('analytics_daily_base',
    start_offset => interval '3 days', end_offset => interval '1 day',
    schedule_interval => interval '1 hour');
-- The default; analytics_set_retention(days) changes it at migrate and worker start.
select add_retention_policy('analytics_hourly', drop_after => interval '90 days');
