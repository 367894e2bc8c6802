-- Portable mode: the primary key, same columns, tx_hash first.
alter table transfers
    drop constraint transfers_pkey,
    add constraint transfers_pkey primary key (tx_hash, chain_id, log_index);
