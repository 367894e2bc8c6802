-- Reorg handling (app/store/reorgs.py): block hashes above finality, rewinds, events.

-- name: list_recent_blocks
-- Distinct (block, hash) pairs above a block, newest first: blocks holding transfers and the
-- head checkpoints. One block may appear twice with two hashes after a race with a reorg.
select block_number, block_hash
from (
    select distinct block_number, block_hash
    from transfers
    where chain_id = %(chain_id)s and block_number > %(above)s
    union
    select block_number, block_hash
    from block_hashes
    where chain_id = %(chain_id)s and block_number > %(above)s
) as known
order by block_number desc, block_hash
limit %(limit)s;

-- name: upsert_block_hash
insert into block_hashes (chain_id, block_number, block_hash, block_time)
values (%(chain_id)s, %(block_number)s, %(block_hash)s, %(block_time)s)
on conflict (chain_id, block_number) do update set
    block_hash = excluded.block_hash,
    block_time = excluded.block_time,
    recorded_at = now();

-- name: delete_block_hashes_upto
delete from block_hashes
where chain_id = %(chain_id)s and block_number <= %(upto)s;

-- name: delete_block_hashes_above
delete from block_hashes
where chain_id = %(chain_id)s and block_number > %(fork_block)s;

-- name: delete_coverage_above
delete from coverage
where chain_id = %(chain_id)s and lower(blocks) > %(fork_block)s;

-- name: trim_coverage_above
-- Ranges are canonical '[)': a range reaching past the fork now ends right after it.
update coverage
set blocks = int8range(lower(blocks), %(fork_block)s + 1), updated_at = now()
where chain_id = %(chain_id)s and upper(blocks) > %(fork_block)s + 1;

-- name: insert_event
insert into reorg_events (chain_id, fork_block, head, depth, rows_deleted, rows_inserted)
values (%(chain_id)s, %(fork_block)s, %(head)s, %(depth)s, %(rows_deleted)s, %(rows_inserted)s)
returning id;

-- name: list_events
select id, chain_id, fork_block, head, depth, rows_deleted, rows_inserted, detected_at
from reorg_events
where %(chain_id)s::integer is null or chain_id = %(chain_id)s
order by detected_at desc, id desc
limit %(limit)s;
