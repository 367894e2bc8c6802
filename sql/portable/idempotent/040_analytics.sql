-- Portable mode: analytics_refresh(from, to) recomputes every analytics bucket of the UTC
-- days [from, to) touches, from transfers (the timescale mode refreshes its continuous
-- aggregates instead, and keeps only the per-day structures here). Delete then insert under
-- one lock: idempotent, and safe when the job and backfill-analytics overlap.
create or replace function analytics_refresh(p_from timestamptz, p_to timestamptz)
returns void
language plpgsql
as $$
declare
    d0 timestamptz := date_trunc('day', p_from, 'UTC');
    d1 timestamptz := date_trunc('day', p_to - interval '1 microsecond', 'UTC') + interval '1 day';
begin
    if p_to <= p_from then
        return;
    end if;
    perform pg_advisory_xact_lock(hashtext('analytics_refresh'));
    delete from analytics_hourly where bucket >= d0 and bucket < d1;
    insert into analytics_hourly
    select date_trunc('hour', block_time, 'UTC'), chain_id, count(*), sum(value),
           sum(value * value), max(value),
           count(*) filter (where from_address = '\x0000000000000000000000000000000000000000'),
           coalesce(sum(value) filter (
               where from_address = '\x0000000000000000000000000000000000000000'), 0),
           count(*) filter (where to_address = '\x0000000000000000000000000000000000000000'),
           coalesce(sum(value) filter (
               where to_address = '\x0000000000000000000000000000000000000000'), 0),
           count(distinct from_address), count(distinct to_address)
    from transfers
    where block_time >= d0 and block_time < d1
    group by 1, 2;
    -- Daily from hourly, as the timescale mode's hierarchical aggregate does.
    delete from analytics_daily_base where day >= d0 and day < d1;
    insert into analytics_daily_base
    select date_trunc('day', bucket, 'UTC'), chain_id, sum(transfers), sum(volume),
           sum(volume_squares), max(largest), sum(mints), sum(minted), sum(burns), sum(burned)
    from analytics_hourly
    where bucket >= d0 and bucket < d1
    group by 1, 2;
    perform analytics_refresh_days(d0, d1);
end;
$$;

-- No continuous aggregates here: analytics_refresh does everything.
create or replace function analytics_cagg_windows(p_from timestamptz, p_to timestamptz)
returns table (view_name text, window_from timestamptz, window_to timestamptz)
language sql
stable
as $$
    select null::text, null::timestamptz, null::timestamptz where false
$$;

-- Hourly rows older than p_days days go; daily rows stay.
create or replace function analytics_apply_retention(p_days integer)
returns void
language sql
as $$
    delete from analytics_hourly
    where bucket < date_trunc('hour', now(), 'UTC') - make_interval(days => p_days)
$$;
