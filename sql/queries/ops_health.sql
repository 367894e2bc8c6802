-- Health, the status page and the DB-derived metrics (app/store/ops_health.py). Each read is
-- small and bounded: rows per key, provider, breaker, job or alert, never per transfer.

-- name: relations
-- Tables other features add in their own migrations: read only when present, so health
-- never fails on a schema that does not have them yet.
select to_regclass('upstream_breakers') is not null as breakers,
       to_regclass('job_runs') is not null as job_runs,
       to_regclass('price_observations') is not null as prices,
       to_regclass('finality_observations') is not null as finality

-- name: list_breakers
select name, provider, state, failures, opened_at, changed_at, updated_at
from upstream_breakers
order by name

-- name: key_usage
-- Per key: its budget row and its calls in the UTC hour buckets overlapping the last hour
-- and the last 24 hours (upstream_calls counts per hour, so "1 h" spans up to two buckets).
with w as (
    select key_id, min(provider) as provider,
           coalesce(sum(calls) filter (where hour >= date_trunc('hour', now() - interval '1 hour')), 0) as calls_1h,
           coalesce(sum(calls), 0) as calls_24h,
           coalesce(sum(calls) filter (
               where outcome = 'rate_limited' and hour >= date_trunc('hour', now() - interval '1 hour')
           ), 0) as rate_limited_1h,
           coalesce(sum(calls) filter (where outcome = 'rate_limited'), 0) as rate_limited_24h
    from upstream_calls
    where hour >= date_trunc('hour', now() - interval '24 hours')
    group by key_id
)
select coalesce(b.key_id, w.key_id) as key_id,
       coalesce(b.provider, w.provider) as provider,
       b.label,
       coalesce(b.calls_today, 0)::bigint as calls_today,
       b.daily_quota,
       coalesce(b.quota_exhausted, false) as quota_exhausted,
       coalesce(b.rate_limit_hits, 0)::bigint as rate_limit_hits,
       b.backoff_until,
       greatest(0, coalesce(extract(epoch from b.backoff_until - clock_timestamp()), 0))::double precision
           as backoff_seconds,
       coalesce(w.calls_1h, 0)::bigint as calls_1h,
       coalesce(w.calls_24h, 0)::bigint as calls_24h,
       coalesce(w.rate_limited_1h, 0)::bigint as rate_limited_1h,
       coalesce(w.rate_limited_24h, 0)::bigint as rate_limited_24h
from rate_budget as b
full join w on w.key_id = b.key_id
order by 2, 1

-- name: provider_calls
-- Per provider and outcome over the same two windows, with latency sums for averages.
select provider, outcome,
       coalesce(sum(calls) filter (where hour >= date_trunc('hour', now() - interval '1 hour')), 0)::bigint as calls_1h,
       coalesce(sum(total_latency_ms) filter (where hour >= date_trunc('hour', now() - interval '1 hour')), 0)::double precision as latency_ms_1h,
       coalesce(sum(calls), 0)::bigint as calls_24h,
       coalesce(sum(total_latency_ms), 0)::double precision as latency_ms_24h,
       coalesce(max(max_latency_ms), 0)::double precision as max_latency_ms_24h
from upstream_calls
where hour >= date_trunc('hour', now() - interval '24 hours')
group by provider, outcome
order by provider, outcome

-- name: analytics_state
select (select count(*) from analytics_dirty)::bigint as dirty_ranges,
       (select min(from_time) from analytics_dirty) as oldest_dirty_from

-- name: analytics_watermarks
select relation, watermark from health_analytics_watermarks()

-- name: latest_validation
-- The newest validation run and the largest variance among its comparisons.
select v.id, v.origin, v.finished_at, v.threshold, v.flagged,
       (select max((c ->> 'variance')::double precision)
        from jsonb_array_elements(coalesce(v.report -> 'comparisons', '[]'::jsonb)) as c
        where jsonb_typeof(c -> 'variance') = 'number') as max_variance
from validation_reports as v
order by v.finished_at desc, v.id desc
limit 1

-- name: recent_alerts
-- Open alerts first, then the most recently seen resolved ones.
select id, kind, severity, chain_id, message, occurrences, created_at, last_seen_at,
       resolved_at
from alerts
order by (resolved_at is null) desc, last_seen_at desc, id desc
limit %(limit)s
