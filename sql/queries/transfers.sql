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
-- The balances of exactly the rows inserted (RETURNING) move in the same statement, summed
-- per address. Returns the number of new rows.
with new as (
    insert into transfers (chain_id, block_time, block_number, block_hash, tx_hash, log_index,
                           tx_index, from_address, to_address, value, nonce, gas, gas_price,
                           gas_used, cumulative_gas_used, method_id, function_name, source)
    select chain_id, block_time, block_number, block_hash, tx_hash, log_index, tx_index,
           from_address, to_address, value, nonce, gas, gas_price, gas_used,
           cumulative_gas_used, method_id, function_name, source
    from transfers_staging
    on conflict do nothing
    returning chain_id, from_address, to_address, value
), deltas as (
    select chain_id, to_address as address, value as received, 0::numeric as sent,
           1::bigint as transfers
    from new
    union all
    select chain_id, from_address, 0::numeric, value,
           case when from_address = to_address then 0 else 1 end
    from new
), moved as (
    insert into balances as b (chain_id, address, received, sent, transfers)
    select chain_id, address, sum(received), sum(sent), sum(transfers)
    from deltas
    group by chain_id, address
    on conflict (chain_id, address) do update set
        received = b.received + excluded.received,
        sent = b.sent + excluded.sent,
        transfers = b.transfers + excluded.transfers
)
select count(*) as inserted from new;

-- name: create_balance_sums
-- The direct path's balance deltas of a batch, one row per (chain, address), summed by the
-- client (app/store/transfers.py): the rows COPYed straight into transfers cannot be told
-- apart there afterwards. Kept and emptied at every commit like transfers_staging (no DDL per
-- batch).
create temp table if not exists balance_sums (
    chain_id integer not null,
    address bytea not null,
    received numeric not null,
    sent numeric not null,
    transfers bigint not null
) on commit delete rows;

-- name: clear_balance_sums
delete from balance_sums;

-- name: copy_balance_sums
copy balance_sums (chain_id, address, received, sent, transfers) from stdin;

-- name: add_balances
-- The direct path's balance deltas, already one row per (chain, address). No ORDER BY for the
-- row locks: writers of one chain hold lock_chains first.
insert into balances as b (chain_id, address, received, sent, transfers)
select chain_id, address, received, sent, transfers
from balance_sums
on conflict (chain_id, address) do update set
    received = b.received + excluded.received,
    sent = b.sent + excluded.sent,
    transfers = b.transfers + excluded.transfers;

-- name: lock_chains
-- The per-chain lock coverage_add() and a rewind take (sql/idempotent/010_coverage.sql), taken
-- before balance rows are touched: a rewind takes it first and then updates balances, so a
-- writer of the same chain must not hold balance rows while it waits for it (a deadlock).
-- It also serialises the balance updates of a chain's writers, so they never deadlock on
-- balance rows whatever their order. Every writer takes it at its coverage_add anyway, so
-- this only takes it a little earlier (after the batch's COPY, which runs unserialised).
select pg_advisory_xact_lock(hashtext('coverage'), chain_id)
from unnest(%(chain_ids)s::integer[]) as chain_id
order by chain_id;

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

-- name: delete_blocks
-- The rows of blocks [lo, hi] go and their balance deltas are subtracted in the same
-- statement (RETURNING), summed per address and applied in key order, so balances keep
-- equalling what the stored transfers add up to. Used by reorg rewinds (hi unbounded) and
-- reconciliation (a window). Returns how many rows went, and the addresses left with no
-- transfer at all (their rows are removed next: delete_emptied_balances).
with gone as (
    delete from transfers
    where chain_id = %(chain_id)s and block_number between %(lo)s and %(hi)s
    returning from_address, to_address, value
), deltas as (
    select to_address as address, value as received, 0::numeric as sent, 1::bigint as transfers
    from gone
    union all
    select from_address, 0::numeric, value,
           case when from_address = to_address then 0 else 1 end
    from gone
), sums as (
    select address, sum(received) as received, sum(sent) as sent, sum(transfers) as transfers
    from deltas
    group by address
), moved as (
    update balances as b
    set received = b.received - s.received,
        sent = b.sent - s.sent,
        transfers = b.transfers - s.transfers
    from sums as s
    where b.chain_id = %(chain_id)s and b.address = s.address
    returning b.address, b.transfers
)
select (select count(*) from gone) as deleted,
       (select count(*) from sums) as addresses,
       (select count(*) from moved) as moved,
       coalesce((select array_agg(address order by address) from moved where transfers = 0),
                '{}') as emptied;

-- name: delete_emptied_balances
-- Rows whose every transfer a delete removed: as if the address had never appeared.
delete from balances
where chain_id = %(chain_id)s and address = any(%(addresses)s::bytea[]) and transfers = 0;
