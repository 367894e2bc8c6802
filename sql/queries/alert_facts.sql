-- Facts for the alert rules (app/store/alert_facts.py) that no other store module reads.

-- name: optional_tables
-- Tables other features add (breakers, price observations): a rule over a missing one is
-- skipped rather than failing the whole evaluation.
select to_regclass('upstream_breakers') is not null as breakers,
       to_regclass('price_observations') is not null as prices;

-- name: open_breakers
select name, provider, state::text as state, failures,
       extract(epoch from clock_timestamp() - opened_at)::double precision as open_seconds
from upstream_breakers
where state::text = 'open'
order by name;

-- name: price_sources
select source::text as source, count(*)::integer as attempts,
       (count(*) filter (where ok))::integer as ok,
       (array_agg(outcome::text order by observed_at desc))[1] as last_outcome
from price_observations
where observed_at > clock_timestamp() - make_interval(secs => %(window_seconds)s::double precision)
group by source
order by source;
