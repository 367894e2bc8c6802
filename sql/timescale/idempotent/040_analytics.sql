-- Timescale mode: the continuous aggregates are refreshed by CALL
-- refresh_continuous_aggregate (which cannot run inside a transaction or a function), over
-- the windows analytics_cagg_windows gives; analytics_refresh keeps the per-day structures.

create or replace function analytics_refresh(p_from timestamptz, p_to timestamptz)
returns void
language sql
as $$
    select analytics_refresh_days(p_from, p_to)
$$;

-- The continuous aggregates to refresh for [p_from, p_to), in order (the hourly level before
-- the daily one built on it), over whole UTC days but never into the open bucket:
-- materializing an open bucket would move the watermark past rows still arriving, and
-- real-time aggregation only reads raw rows above the watermark.
create or replace function analytics_cagg_windows(p_from timestamptz, p_to timestamptz)
returns table (view_name text, window_from timestamptz, window_to timestamptz)
language sql
stable
as $$
    select w.view_name, w.window_from, w.window_to
    from (
        values
            (1, 'analytics_hourly', date_trunc('day', p_from, 'UTC'),
             least(date_trunc('day', p_to - interval '1 microsecond', 'UTC') + interval '1 day',
                   date_trunc('hour', now(), 'UTC'))),
            (2, 'analytics_daily_base', date_trunc('day', p_from, 'UTC'),
             least(date_trunc('day', p_to - interval '1 microsecond', 'UTC') + interval '1 day',
                   date_trunc('day', now(), 'UTC')))
    ) as w (step, view_name, window_from, window_to)
    where p_to > p_from and w.window_from < w.window_to
    order by w.step
$$;

-- Hourly retention: the retention policy's drop_after set to p_days days when it differs
-- (alter_job keeps the job and its schedule; the policy drops whole 7-day chunks).
create or replace function analytics_apply_retention(p_days integer)
returns void
language plpgsql
as $$
declare
    job integer;
    settings jsonb;
    wanted interval := make_interval(days => p_days);
begin
    select j.job_id, j.config into job, settings
    from timescaledb_information.jobs j
    where j.hypertable_name = 'analytics_hourly' and j.hypertable_schema = current_schema()
      and j.proc_name = 'policy_retention';
    if job is null then
        perform add_retention_policy('analytics_hourly', drop_after => wanted);
    elsif (settings ->> 'drop_after')::interval is distinct from wanted then
        perform alter_job(job, config => jsonb_set(settings, '{drop_after}',
                                                   to_jsonb(wanted::text)));
    end if;
end;
$$;
