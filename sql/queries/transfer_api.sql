-- Fixed queries of the transfers API (app/store/transfer_pages.py, app/store/addresses.py).
-- Pages and counts with user filters are composed in app/store/transfer_sql.py.

-- name: find_transfers
-- Rows by identity, for the `transfer` DataLoader: one statement for a batch of keys.
select t.chain_id, t.block_time, t.block_number, t.block_hash, t.tx_hash, t.log_index,
       t.tx_index, t.from_address, t.to_address, t.value, t.nonce, t.gas, t.gas_price,
       t.gas_used, t.cumulative_gas_used, t.method_id, t.function_name
from unnest(%(chain_ids)s::integer[], %(tx_hashes)s::bytea[], %(log_indexes)s::integer[])
    as k(chain_id, tx_hash, log_index)
join transfers t
  on t.chain_id = k.chain_id and t.tx_hash = k.tx_hash and t.log_index = k.log_index;

-- name: list_block_range
-- A committed batch's rows (blocks [from_block, to_block] of one chain) in key order, for
-- the transferAdded subscription. transfers_chain_block_idx.
select chain_id, block_time, block_number, block_hash, tx_hash, log_index, tx_index,
       from_address, to_address, value, nonce, gas, gas_price, gas_used, cumulative_gas_used,
       method_id, function_name
from transfers
where chain_id = %(chain_id)s and block_number between %(from_block)s and %(to_block)s
order by block_time, chain_id, block_number, log_index, tx_hash
limit %(limit)s;

-- name: count_chain
-- Every stored transfer of one chain: an index-only scan of transfers_chain_block_idx.
select count(*) as n from transfers where chain_id = %(chain_id)s;

-- name: block_activity
-- Transfers per chain in one block number (every chain has its own block n).
select c.chain_id, t.n
from chains c
cross join lateral (
    select count(*) as n from transfers
    where transfers.chain_id = c.chain_id and transfers.block_number = %(block)s
) as t
where t.n > 0 and (%(chain_id)s::integer is null or c.chain_id = %(chain_id)s)
order by c.chain_id;
