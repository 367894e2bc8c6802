-- Reads of one analytics answer (app/store/analytics_reads.py). Every query takes the
-- chains as an array (%(chains)s: one chain, or every chain) and a half-open time window
-- [%(start)s, %(end)s) in UTC; %(start)s null means no lower bound (the "all" range).
-- "= any(array)" and a coalesced bound keep one plan shape for one chain and for all, so a
-- prepared statement's generic plan is the one a custom plan would be.
-- Each transfer is seen from both of its ends, side 1 (sender) and side 2 (receiver), so one
-- pass gives transfers, senders, receivers and active addresses (senders or receivers).

-- name: snapshot
-- The first statement of the transaction: every read after it sees the same committed rows.
set transaction isolation level repeatable read, read only;

-- name: days
select (t.block_time at time zone 'UTC')::date as day,
       count(*) filter (where v.side = 1) as transfers,
       coalesce(sum(t.value) filter (where v.side = 1), 0) as volume,
       count(distinct v.address) filter (where v.side = 1) as senders,
       count(distinct v.address) filter (where v.side = 2) as receivers,
       count(distinct v.address) as active_addresses,
       coalesce(max(t.value), 0) as largest
from transfers t
cross join lateral (values (1, t.from_address), (2, t.to_address)) as v (side, address)
where t.chain_id = any(%(chains)s)
  and t.block_time >= coalesce(%(start)s::timestamptz, '-infinity')
  and t.block_time < %(end)s
group by 1
order by 1;

-- name: totals
select count(*) filter (where v.side = 1) as transfers,
       coalesce(sum(t.value) filter (where v.side = 1), 0) as volume,
       count(distinct v.address) filter (where v.side = 1) as senders,
       count(distinct v.address) filter (where v.side = 2) as receivers,
       count(distinct v.address) as active_addresses
from transfers t
cross join lateral (values (1, t.from_address), (2, t.to_address)) as v (side, address)
where t.chain_id = any(%(chains)s)
  and t.block_time >= coalesce(%(start)s::timestamptz, '-infinity')
  and t.block_time < %(end)s;

-- name: chains
select t.chain_id,
       count(*) filter (where v.side = 1) as transfers,
       coalesce(sum(t.value) filter (where v.side = 1), 0) as volume,
       count(distinct v.address) as active_addresses
from transfers t
cross join lateral (values (1, t.from_address), (2, t.to_address)) as v (side, address)
where t.chain_id = any(%(chains)s)
  and t.block_time >= coalesce(%(start)s::timestamptz, '-infinity')
  and t.block_time < %(end)s
group by t.chain_id
order by t.chain_id;

-- name: top_addresses
-- The order of app.analytics.breakdowns.top_addresses (bytea sorts as its lowercase hex),
-- so the first %(limit)s rows are exactly the ones it keeps.
select v.address,
       count(*) filter (where v.side = 1) as sent,
       count(*) filter (where v.side = 2) as received,
       coalesce(sum(t.value) filter (where v.side = 1), 0) as sent_volume,
       coalesce(sum(t.value) filter (where v.side = 2), 0) as received_volume
from transfers t
cross join lateral (values (1, t.from_address), (2, t.to_address)) as v (side, address)
where t.chain_id = any(%(chains)s)
  and t.block_time >= coalesce(%(start)s::timestamptz, '-infinity')
  and t.block_time < %(end)s
group by v.address
order by count(*) desc, sum(t.value) desc, v.address
limit %(limit)s;

-- name: largest
-- The order of app.analytics.breakdowns.top_whales.
select t.chain_id, t.tx_hash, t.log_index, t.from_address, t.to_address, t.value, t.block_time
from transfers t
where t.chain_id = any(%(chains)s)
  and t.block_time >= coalesce(%(start)s::timestamptz, '-infinity')
  and t.block_time < %(end)s
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
) newest;
