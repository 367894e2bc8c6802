-- The write path (app.store.transfers.copy_transfers, docs/performance.md): every stored row
-- updates every index of transfers, and upkeep of the indexes keyed by random bytes is most
-- of what a row costs. transfers_tx_idx (tx_hash) was one more of those beside the identity
-- index, which held tx_hash too: the identity now leads with tx_hash (the mode files below),
-- so it serves lookups by tx hash alone as well, and the separate index goes.
-- Lookups by the full identity (chain_id, tx_hash, log_index) use it exactly as before.
drop index transfers_tx_idx;
