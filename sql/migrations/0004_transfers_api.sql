-- Indexes of the transfers API (app/store/transfer_sql.py): keyset pages in the order
-- (block_time, chain_id, block_number, log_index, tx_hash), newest or oldest first, never
-- OFFSET. tx_hash only breaks ties, which valid chain data never has (a log index names one
-- log of a block); the API sorts on it after these indexes (an incremental sort of equal
-- keys), so the order is total even over inconsistent rows without widening every index.
-- Both schema modes; on a hypertable each index is built per chunk.

-- Pages over all chains.
create index transfers_keyset_idx
    on transfers (block_time, chain_id, block_number, log_index);

-- Address filters walk the same order from each side of a transfer. They replace the
-- (address, block_time) indexes of 0001, which they serve as well.
create index transfers_from_keyset_idx
    on transfers (from_address, block_time, chain_id, block_number, log_index);
create index transfers_to_keyset_idx
    on transfers (to_address, block_time, chain_id, block_number, log_index);
drop index transfers_from_idx;
drop index transfers_to_idx;
