-- Health (app/store/ops_health.py): how far each analytics aggregate is materialized.
-- Timescale mode: the continuous aggregates' own watermarks (rows above them are computed
-- from the raw transfers at query time). An aggregate never materialized reports the lowest
-- representable time as its watermark: null here, "not materialized yet".
create or replace function health_analytics_watermarks()
returns table (relation text, watermark timestamptz)
language sql
stable
as $$
    select w.relation, case when w.watermark > 'epoch'::timestamptz then w.watermark end
    from (
        select c.user_view_name::text as relation,
               _timescaledb_functions.to_timestamp(
                   _timescaledb_functions.cagg_watermark(c.mat_hypertable_id)
               ) as watermark
        from _timescaledb_catalog.continuous_agg as c
        where c.user_view_name in ('analytics_hourly', 'analytics_daily_base')
    ) as w
    order by 1
$$;
