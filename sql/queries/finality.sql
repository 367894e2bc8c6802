-- name: insert_observation
insert into finality_observations (
    observed_at, chain_id, source, ok, latency_ms, latest_block, safe_block, finalized_block,
    latest_time, finalized_time, outcome, detail
) values (
    %(observed_at)s, %(chain_id)s, %(source)s, %(ok)s, %(latency_ms)s, %(latest_block)s,
    %(safe_block)s, %(finalized_block)s, %(latest_time)s, %(finalized_time)s, %(outcome)s,
    %(detail)s
);

-- name: list_latest
-- Per chain: the newest good probe, the newest probe of any outcome, and when the finality
-- point (finalized, else safe block) reached its current value, "last advanced at": the first
-- good probe after the newest one that saw a lower point. Each lateral reads the
-- (chain_id, observed_at desc) index from the top; `before` stops at the first lower point,
-- so it reads as many rows as the point has been stuck for.
select c.chain_id,
       good.observed_at, good.source, good.latency_ms, good.latest_block, good.safe_block,
       good.finalized_block, good.latest_time, good.finalized_time,
       last.observed_at as last_observed_at, last.ok as last_ok, last.outcome as last_outcome,
       last.detail as last_detail,
       (select min(f.observed_at) from finality_observations f
        where f.chain_id = c.chain_id and f.ok
          and coalesce(good.finalized_block, good.safe_block) is not null
          and f.observed_at > coalesce(before.observed_at, '-infinity')
       ) as advanced_at
from chains c
join lateral (
    select * from finality_observations f
    where f.chain_id = c.chain_id
    order by f.observed_at desc limit 1
) last on true
left join lateral (
    select * from finality_observations f
    where f.chain_id = c.chain_id and f.ok
    order by f.observed_at desc limit 1
) good on true
left join lateral (
    select f.observed_at from finality_observations f
    where f.chain_id = c.chain_id and f.ok
      and coalesce(f.finalized_block, f.safe_block)
          < coalesce(good.finalized_block, good.safe_block)
    order by f.observed_at desc limit 1
) before on true
order by c.chain_id;

-- name: delete_before
delete from finality_observations where observed_at < %(before)s;
