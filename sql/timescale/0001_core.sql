-- Timescale mode: transfers becomes a hypertable on block time. A unique index on a
-- hypertable must contain the partitioning column, hence block_time in the key; a log's
-- block_time never changes without its block hash changing, which reorg handling deletes first.
select create_hypertable('transfers', by_range('block_time', interval '7 days'));
create unique index transfers_identity_idx
    on transfers (chain_id, tx_hash, log_index, block_time);
