-- Timescale mode: the unique identity index, same columns, tx_hash first (block_time stays in
-- it: a unique index on a hypertable must hold the partitioning column).
drop index transfers_identity_idx;
create unique index transfers_identity_idx
    on transfers (tx_hash, chain_id, log_index, block_time);
-- create_hypertable's default index on (block_time desc): transfers_keyset_idx of 0004 leads
-- with block_time and serves every scan it did (in either direction), so it is upkeep only.
drop index if exists transfers_block_time_idx;
