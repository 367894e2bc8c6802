-- name: insert_observation
insert into price_observations
    (observed_at, source, ok, latency_ms, price_usd, outcome, detail, quoted_at, liquidity_usd)
values (%(observed_at)s, %(source)s, %(ok)s, %(latency_ms)s, %(price_usd)s, %(outcome)s,
        %(detail)s, %(quoted_at)s, %(liquidity_usd)s);

-- name: list_since
-- Every observation of the window, newest first per source (health scores, SLA figures).
select observed_at, source, ok, latency_ms, price_usd, outcome, detail, quoted_at, liquidity_usd
from price_observations
where observed_at >= %(since)s
order by source, observed_at desc;

-- name: list_latest
-- The newest observation of each source (one index probe per source).
select o.*
from (select distinct source from price_observations) s
cross join lateral (
    select observed_at, source, ok, latency_ms, price_usd, outcome, detail, quoted_at,
           liquidity_usd
    from price_observations p
    where p.source = s.source
    order by observed_at desc
    limit 1
) o
order by o.source;

-- name: list_last_good
-- The newest successful observation of each source: the last-known-good prices.
select o.*
from (select distinct source from price_observations) s
cross join lateral (
    select observed_at, source, ok, latency_ms, price_usd, outcome, detail, quoted_at,
           liquidity_usd
    from price_observations p
    where p.source = s.source and p.ok
    order by observed_at desc
    limit 1
) o
order by o.source;

-- name: source_stats
-- Calls, successes and latency percentiles per source since %(since)s (SLA and health).
select source,
       count(*)::bigint as calls,
       count(*) filter (where ok)::bigint as successes,
       percentile_cont(0.5) within group (order by latency_ms) as p50_ms,
       percentile_cont(0.95) within group (order by latency_ms) as p95_ms,
       percentile_cont(0.99) within group (order by latency_ms) as p99_ms,
       max(observed_at) as last_at,
       max(observed_at) filter (where ok) as last_ok_at
from price_observations
where observed_at >= %(since)s
group by source
order by source;

-- name: now
select clock_timestamp() as now;

-- name: price_breakers
-- The price sources' breakers as the worker last published them.
select name, state from upstream_breakers where provider = 'price' order by name;

-- name: delete_before
delete from price_observations where observed_at < %(before)s;
