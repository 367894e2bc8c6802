-- name: create_staging
-- The session's staging table for binary COPY: created by a connection's first batch, then
-- kept and emptied at every commit, so a batch costs no DDL (a table created and dropped per
-- transaction also leaves dead rows in pg_class and pg_attribute behind). The statements
-- below name their columns, so a table created before a migration added a column still fits.
create temp table if not exists transfers_staging
    (like transfers including defaults) on commit delete rows;

-- name: clear_staging
-- Empty, unless an earlier batch of the same transaction left its rows.
delete from transfers_staging;

-- name: copy_direct
-- The fast path of a batch whose rows are all new (app/store/transfers.py).
copy transfers (chain_id, block_time, block_number, block_hash, tx_hash, log_index,
                tx_index, from_address, to_address, value, nonce, gas, gas_price,
                gas_used, cumulative_gas_used, method_id, function_name, source)
from stdin (format binary);

-- name: copy_staging
copy transfers_staging (chain_id, block_time, block_number, block_hash, tx_hash, log_index,
                        tx_index, from_address, to_address, value, nonce, gas, gas_price,
                        gas_used, cumulative_gas_used, method_id, function_name, source)
from stdin (format binary);

-- name: insert_from_staging
-- Idempotent by identity: a row seen before (or twice in one batch) is skipped, never updated.
-- The balances of exactly the rows inserted (RETURNING) move in the same statement, summed
-- per address and applied in key order (the order the direct path uses too, so two writers
-- of one chain lock balance rows in the same order). Returns the number of new rows.
with new as (
    insert into transfers (chain_id, block_time, block_number, block_hash, tx_hash, log_index,
                           tx_index, from_address, to_address, value, nonce, gas, gas_price,
                           gas_used, cumulative_gas_used, method_id, function_name, source)
    select chain_id, block_time, block_number, block_hash, tx_hash, log_index, tx_index,
           from_address, to_address, value, nonce, gas, gas_price, gas_used,
           cumulative_gas_used, method_id, function_name, source
    from transfers_staging
    on conflict do nothing
    returning chain_id, from_address, to_address, value
), deltas as (
    select chain_id, to_address as address, value as received, 0::numeric as sent,
           1::bigint as transfers
    from new
    union all
    select chain_id, from_address, 0::numeric, value,
           case when from_address = to_address then 0 else 1 end
    from new
), moved as (
    insert into balances as b (chain_id, address, received, sent, transfers)
    select chain_id, address, sum(received), sum(sent), sum(transfers)
    from deltas
    group by chain_id, address
    order by chain_id, address
    on conflict (chain_id, address) do update set
        received = b.received + excluded.received,
        sent = b.sent + excluded.sent,
        transfers = b.transfers + excluded.transfers
)
select count(*) as inserted from new;

-- name: add_balances
-- The direct path's balance deltas, summed per (chain, address) by the client and sorted by
-- key (app/store/transfers.py): one statement per batch.
insert into balances as b (chain_id, address, received, sent, transfers)
select *
from unnest(%(chain_ids)s::integer[], %(addresses)s::bytea[], %(received)s::numeric[],
            %(sent)s::numeric[], %(transfers)s::bigint[])
on conflict (chain_id, address) do update set
    received = b.received + excluded.received,
    sent = b.sent + excluded.sent,
    transfers = b.transfers + excluded.transfers;

-- name: lock_chains
-- The per-chain lock coverage_add() and a rewind take (sql/idempotent/010_coverage.sql), taken
-- before balance rows are touched: a rewind takes it first and then updates balances, so a
-- writer of the same chain must not hold balance rows while it waits for it (a deadlock).
-- Every writer takes it at its coverage_add anyway, so this only takes it a little earlier.
select pg_advisory_xact_lock(hashtext('coverage'), chain_id)
from unnest(%(chain_ids)s::integer[]) as chain_id
order by chain_id;

-- name: count_by_chain
select chain_id, count(*) as transfers, coalesce(sum(value), 0) as volume,
       min(block_time) as first_time, max(block_time) as last_time
from transfers
group by chain_id
order by chain_id;

-- name: list_recent
-- Keyset page in API order: newest first, ties broken by block then log index.
select chain_id, block_time, block_number, block_hash, tx_hash, log_index, tx_index,
       from_address, to_address, value
from transfers
where chain_id = %(chain_id)s
  and (%(before_time)s::timestamptz is null
       or (block_time, block_number, log_index)
          < (%(before_time)s, %(before_block)s, %(before_log_index)s))
order by block_time desc, block_number desc, log_index desc
limit %(limit)s;
