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
-- The cursor's rowcount is the number of new rows.
insert into transfers (chain_id, block_time, block_number, block_hash, tx_hash, log_index,
                       tx_index, from_address, to_address, value, nonce, gas, gas_price,
                       gas_used, cumulative_gas_used, method_id, function_name, source)
select chain_id, block_time, block_number, block_hash, tx_hash, log_index, tx_index,
       from_address, to_address, value, nonce, gas, gas_price, gas_used, cumulative_gas_used,
       method_id, function_name, source
from transfers_staging
on conflict do nothing;

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
