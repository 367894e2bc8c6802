-- Portable mode: the per-bucket sums as plain tables with the columns of the timescale
-- continuous aggregates, recomputed by analytics_refresh(from, to)
-- (sql/portable/idempotent/040_analytics.sql) from the analytics_refresh job.

create table analytics_hourly (
    bucket timestamptz not null,
    chain_id integer not null,
    transfers bigint not null,
    volume numeric not null,
    volume_squares numeric not null,
    largest numeric not null,
    mints bigint not null,
    minted numeric not null,
    burns bigint not null,
    burned numeric not null,
    senders bigint not null,
    receivers bigint not null,
    primary key (chain_id, bucket)
);
create index analytics_hourly_bucket_idx on analytics_hourly (bucket);

create table analytics_daily_base (
    day timestamptz not null,
    chain_id integer not null,
    transfers bigint not null,
    volume numeric not null,
    volume_squares numeric not null,
    largest numeric not null,
    mints bigint not null,
    minted numeric not null,
    burns bigint not null,
    burned numeric not null,
    primary key (chain_id, day)
);
create index analytics_daily_base_day_idx on analytics_daily_base (day);
