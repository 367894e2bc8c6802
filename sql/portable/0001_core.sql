-- Portable mode: transfers stays a plain table with its natural key.
alter table transfers add primary key (chain_id, tx_hash, log_index);
