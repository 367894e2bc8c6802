-- Reconciliation (app/store/reconcile.py): a window's stored rows, replacing them, the runs.

-- name: list_window
-- Every stored transfer of blocks [lo, hi] of a chain (transfers_chain_block_idx).
select chain_id, block_time, block_number, block_hash, tx_hash, log_index, tx_index,
       from_address, to_address, value
from transfers
where chain_id = %(chain_id)s and block_number between %(lo)s and %(hi)s
order by block_number, log_index;

-- name: lock_chain
-- The lock coverage_add() and reorg rewinds take: a window's replacement never interleaves
-- with a coverage merge or a rewind of the same chain.
select pg_advisory_xact_lock(hashtext('coverage'), %(chain_id)s);

-- name: delete_window
-- The window's rows go and their amounts leave the holder balances in the same statement,
-- exactly as a reorg rewind does (reorgs.sql, delete_transfers_above), so balances keep
-- equalling what the stored transfers add up to. Returns how many rows went, and the
-- addresses left with no transfer at all (removed next: delete_emptied_balances).
with gone as (
    delete from transfers
    where chain_id = %(chain_id)s and block_number between %(lo)s and %(hi)s
    returning from_address, to_address, value
), deltas as (
    select to_address as address, value as received, 0::numeric as sent, 1::bigint as transfers
    from gone
    union all
    select from_address, 0::numeric, value,
           case when from_address = to_address then 0 else 1 end
    from gone
), sums as (
    select address, sum(received) as received, sum(sent) as sent, sum(transfers) as transfers
    from deltas
    group by address
), moved as (
    update balances as b
    set received = b.received - s.received,
        sent = b.sent - s.sent,
        transfers = b.transfers - s.transfers
    from sums as s
    where b.chain_id = %(chain_id)s and b.address = s.address
    returning b.address, b.transfers
)
select (select count(*) from gone) as deleted,
       (select count(*) from sums) as addresses,
       (select count(*) from moved) as moved,
       coalesce((select array_agg(address order by address) from moved where transfers = 0),
                '{}') as emptied;

-- name: delete_emptied_balances
-- Addresses whose every transfer the window held: as if they had never appeared.
delete from balances
where chain_id = %(chain_id)s and address = any(%(addresses)s::bytea[]) and transfers = 0;

-- name: insert_run
insert into reconciliation_runs (
    chain_id, block_lo, block_hi, source, compared_by, stored_count, upstream_count,
    missing, extra, mismatched, repaired, rows_deleted, rows_inserted, error, started_at
)
values (
    %(chain_id)s, %(block_lo)s, %(block_hi)s, %(source)s, %(compared_by)s, %(stored_count)s,
    %(upstream_count)s, %(missing)s, %(extra)s, %(mismatched)s, %(repaired)s,
    %(rows_deleted)s, %(rows_inserted)s, %(error)s, %(started_at)s
)
returning id;

-- name: list_latest
-- The newest run of every chain (reconciliation_runs_chain_newest_idx, one probe a chain).
select r.*
from chains as c
cross join lateral (
    select *
    from reconciliation_runs as runs
    where runs.chain_id = c.chain_id
    order by runs.started_at desc, runs.id desc
    limit 1
) as r
order by r.chain_id;

-- name: list_runs
select *
from reconciliation_runs
where %(chain_id)s::integer is null or chain_id = %(chain_id)s
order by started_at desc, id desc
limit %(limit)s;
