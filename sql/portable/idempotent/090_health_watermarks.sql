-- Health (app/store/ops_health.py): how far each analytics aggregate is materialized.
-- Portable mode: the end of the newest bucket analytics_refresh has written (null: empty).
create or replace function health_analytics_watermarks()
returns table (relation text, watermark timestamptz)
language sql
stable
as $$
    select 'analytics_daily_base', max(day) + interval '1 day' from analytics_daily_base
    union all
    select 'analytics_hourly', max(bucket) + interval '1 hour' from analytics_hourly
$$;
