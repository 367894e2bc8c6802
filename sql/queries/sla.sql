-- name: list_stats
-- The one SLA computation: GraphQL sla, the sla_report log line and the status page all read
-- it (app.store.sla), so their windows and success rates agree exactly.
-- Latency percentiles (continuous: linear interpolation between the two nearest calls) and
-- success counts per kind and source, over each window ending at %(now)s. Every call counts
-- towards the latency, failures included: it is what the caller waited. Both tables are read
-- through their (source, observed_at desc) index, 24 h at most.
with calls as (
    select 'price' as kind, source, observed_at, ok, latency_ms
    from price_observations
    where observed_at > %(now)s - interval '24 hours' and observed_at <= %(now)s
    union all
    select 'finality', source, observed_at, ok, latency_ms
    from finality_observations
    where observed_at > %(now)s - interval '24 hours' and observed_at <= %(now)s
),
windows (name, seconds) as (values ('1h', 3600), ('24h', 86400))
select w.name as window_name, c.kind, c.source,
       count(*) as calls,
       count(*) filter (where c.ok) as successes,
       percentile_cont(0.5) within group (order by c.latency_ms) as p50_ms,
       percentile_cont(0.95) within group (order by c.latency_ms) as p95_ms,
       percentile_cont(0.99) within group (order by c.latency_ms) as p99_ms,
       max(c.observed_at) as last_call_at
from windows w
join calls c on c.observed_at > %(now)s - make_interval(secs => w.seconds)
group by w.seconds, w.name, c.kind, c.source
order by w.seconds, c.kind, c.source;
