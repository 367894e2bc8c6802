-- Balances rebuilt for a cheaper write path; 0006 is frozen, so its table is replaced here.
-- It is derived from transfers (rebuilt below in one pass), so nothing is lost.
--
-- Measured on the write path (docs/performance.md): with 0006's table, upkeep of the
-- balances of a 5,000-row batch cost more than the COPY of the batch itself, mostly because
-- of the holders index on (chain_id, balance desc, address): an index on the column every
-- delta changes makes every update non-HOT (a new entry in every index of the table, and no
-- page pruning between vacuums). Without it, and with room left on each page (fillfactor
-- 70) for the new row versions, 95% of the updates were HOT and the upkeep cost halved.
-- Holder pages now sort a chain's positive balances per read (a top-N sort, cached until
-- the chain's next batch): a few milliseconds for tens of thousands of holders.
--
-- Same columns and meaning as 0006: the zero address holds minus the supply; holders are
-- the other addresses with a positive balance; a row at 0 stays while the address has
-- transfers.
drop table balances;

create table balances (
    chain_id integer not null,
    address bytea not null check (octet_length(address) = 20),
    received numeric(78, 0) not null default 0 check (received >= 0),
    sent numeric(78, 0) not null default 0 check (sent >= 0),
    -- Derived rather than updated beside received and sent, so it can never disagree; not
    -- indexed, so an update stays HOT.
    balance numeric(78, 0) generated always as (received - sent) stored,
    transfers bigint not null default 0 check (transfers >= 0),  -- a self-transfer counts once
    primary key (chain_id, address)
) with (fillfactor = 70);

-- Every transfer stored so far, in one pass. Workers must be stopped while it runs
-- (docs/runbook.md): a batch written by code without balance upkeep would be missed.
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
