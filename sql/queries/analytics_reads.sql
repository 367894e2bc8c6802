-- Reads of an analytics answer that app/store/analytics_window.py (the aggregates' own reads)
-- does not provide: the largest transfers, the newest transfer, and a day's figures from the
-- raw rows for the days the per-day refresh has not reached yet (app/store/analytics_reads.py).
-- Chains come as an array (%(chains)s: one chain, or every chain) so one plan shape serves
-- both; windows are half-open [%(start)s, %(end)s) on UTC day starts.

-- name: snapshot
-- The first statement of the transaction: every read after it sees the same committed rows.
set transaction isolation level repeatable read, read only;

-- name: no_jit
-- Every read of an answer is a few index probes and small sorts, but some estimates (a year
-- of chain-days in `largest`) pass jit_above_cost: compiling them took up to a second.
set local jit = off;

-- name: largest
-- The %(limit)s largest transfers of the chain-days window_days picked (parallel arrays): a
-- kept day's from analytics_daily_largest, another's (today's, or one the refresh has not
-- reached) from transfers through transfers_chain_time_idx. The order is
-- app.analytics.breakdowns.top_whales' (bytea sorts as its lowercase hex).
with buckets as (
    select * from unnest(%(chains)s::integer[], %(days)s::timestamptz[], %(kept)s::boolean[])
        as c (chain_id, day, kept)
)
select t.chain_id, t.tx_hash, t.log_index, t.from_address, t.to_address, t.value, t.block_time
from (
    select l.chain_id, l.tx_hash, l.log_index, l.from_address, l.to_address, l.value,
           l.block_time
    from buckets b
    join analytics_daily_largest l on l.chain_id = b.chain_id and l.day = b.day
    where b.kept
    union all
    select t.chain_id, t.tx_hash, t.log_index, t.from_address, t.to_address, t.value,
           t.block_time
    from buckets b
    cross join lateral (
        select t.chain_id, t.tx_hash, t.log_index, t.from_address, t.to_address, t.value,
               t.block_time
        from transfers t
        where t.chain_id = b.chain_id
          and t.block_time >= b.day
          and t.block_time < b.day + interval '1 day'
          and t.value >= %(floor)s
        -- A bucket gives at most limit rows; the LIMIT also keeps the planner from
        -- flattening this into a join over every transfer: one index range per bucket.
        order by t.value desc, t.block_time desc, t.tx_hash, t.log_index
        limit %(limit)s
    ) as t
    where not b.kept
) as t
where t.value >= %(floor)s
order by t.value desc, t.block_time desc, t.chain_id, t.tx_hash, t.log_index
limit %(limit)s;

-- name: newest
-- One probe of transfers_chain_time_idx per chain.
select max(newest.block_time) as newest
from unnest(%(chains)s::integer[]) as c (chain_id)
cross join lateral (
    select t.block_time from transfers t
    where t.chain_id = c.chain_id
    order by t.block_time desc
    limit 1
) as newest;

-- name: raw_days
-- Distinct senders, receivers and active addresses per UTC day straight from transfers, for
-- the few days (normally today's newest minutes, timescale mode) whose per-day row is not
-- refreshed yet. Each transfer is seen from both ends: side 1 the sender, side 2 the receiver.
select date_trunc('day', t.block_time, 'UTC') as day,
       count(distinct v.address) filter (where v.side = 1) as senders,
       count(distinct v.address) filter (where v.side = 2) as receivers,
       count(distinct v.address) as active_addresses
from transfers t
cross join lateral (values (1, t.from_address), (2, t.to_address)) as v (side, address)
where t.chain_id = any(%(chains)s)
  and t.block_time >= %(start)s
  and t.block_time < %(end)s
group by 1;
