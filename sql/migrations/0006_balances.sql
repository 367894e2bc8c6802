-- Holder balances per (chain, address), kept by the write path itself (app/store/transfers.py
-- adds the deltas of the rows each batch inserts, app/store/reorgs.py subtracts the rows a
-- rewind deletes, both in the caller's transaction), so they always equal what the stored
-- transfers add up to. Where a chain's coverage runs from its first block without a gap, that
-- is the chain's true balance sheet (app/store/balances.py says where).
--
-- The zero address is a row like any other: it sends every mint and receives every burn, so
-- its balance is minus the supply (supply = -balance of 0x00..00). Holders are the other
-- addresses with a positive balance. A row whose balance returns to 0 stays (the address
-- still has transfers); a rewind removes the rows left with no transfer at all.
create table balances (
    chain_id integer not null,
    address bytea not null check (octet_length(address) = 20),
    received numeric(78, 0) not null default 0 check (received >= 0),
    sent numeric(78, 0) not null default 0 check (sent >= 0),
    -- Derived rather than updated beside received and sent, so it can never disagree.
    balance numeric(78, 0) generated always as (received - sent) stored,
    transfers bigint not null default 0 check (transfers >= 0),  -- a self-transfer counts once
    primary key (chain_id, address)
);

-- The holders list: keyset pages by (balance desc, address) within a chain. Partial, so the
-- zero address (negative) and emptied addresses stay out of it. Every balance change moves
-- the entry, and an update of an indexed column is never HOT: this index is what a delta
-- costs beyond the primary key, the price of serving holder pages and counts from an index.
create index balances_holders_idx
    on balances (chain_id, balance desc, address) where balance > 0;

-- Every transfer stored before this migration, in one pass. Workers must be stopped while it
-- runs (docs/runbook.md): a batch written by code without balance upkeep would be missed.
insert into balances (chain_id, address, received, sent, transfers)
select chain_id, address, sum(received), sum(sent), sum(transfers)
from (
    select chain_id, to_address as address, value as received, 0::numeric as sent,
           1::bigint as transfers
    from transfers
    union all
    select chain_id, from_address, 0::numeric, value,
           case when from_address = to_address then 0 else 1 end
    from transfers
) as sides
group by chain_id, address;
