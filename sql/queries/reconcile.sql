-- Reconciliation (app/store/reconcile.py): a window's stored rows, replacing them, the runs.

-- name: list_window
-- Every stored transfer of blocks [lo, hi] of a chain (transfers_chain_block_idx).
select chain_id, block_time, block_number, block_hash, tx_hash, log_index, tx_index,
       from_address, to_address, value
from transfers
where chain_id = %(chain_id)s and block_number between %(lo)s and %(hi)s
order by block_number, log_index;

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
