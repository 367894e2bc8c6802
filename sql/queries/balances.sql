-- Holder balances (app/store/balances.py): the table is kept by the write path
-- (sql/queries/transfers.sql, sql/queries/reorgs.sql); these are its reads.
-- The zero address (mints come from it, burns go to it) is never a holder: its balance is
-- minus the supply.

-- name: summaries
-- One row per chain of `chains`: holders, addresses and supply from balances (one pass over
-- the table), coverage from the ledger. A gap is a hole between first_block and the highest
-- covered block: before the lowest range that reaches first_block, or between two ranges
-- (coverage_add keeps ranges disjoint and never adjacent).
with counts as (
    select chain_id,
           count(*) filter (where address <> '\x0000000000000000000000000000000000000000'::bytea
                            and balance > 0) as holders,
           count(*) filter (where address <> '\x0000000000000000000000000000000000000000'::bytea)
               as addresses,
           coalesce(-sum(balance) filter (
               where address = '\x0000000000000000000000000000000000000000'::bytea), 0) as supply
    from balances
    group by chain_id
), covered as (
    select c.chain_id,
           min(lower(k.blocks)) as covered_from,
           max(upper(k.blocks)) - 1 as covered_to,
           count(*) filter (where upper(k.blocks) - 1 >= c.first_block) as ranges,
           min(lower(k.blocks)) filter (where upper(k.blocks) - 1 >= c.first_block) as tail_from
    from chains c
    join coverage k on k.chain_id = c.chain_id
    group by c.chain_id
)
select c.chain_id, c.first_block,
       coalesce(n.holders, 0) as holders,
       coalesce(n.supply, 0) as supply,
       coalesce(n.addresses, 0) as addresses,
       v.covered_from, v.covered_to,
       coalesce(greatest(v.ranges - 1, 0) + (v.tail_from > c.first_block)::int, 0) as gaps
from chains c
left join counts n on n.chain_id = c.chain_id
left join covered v on v.chain_id = c.chain_id
order by c.chain_id;

-- name: list_holders
-- A keyset page of holders by (balance desc, address, chain id), one chain or every chain.
-- Each chain's page is a top-N sort of its rows (the primary key's chain prefix; no index on
-- balance, so that balance updates stay HOT: migration 0009), at most limit + offset rows,
-- then the chains' pages are merged. `after_*` is the last row of the previous page; `lo`/`hi`
-- bound the address for a prefix search, `contains` matches hex digits anywhere.
select h.chain_id, h.address, h.balance, h.received, h.sent, h.transfers
from chains c
cross join lateral (
    select b.chain_id, b.address, b.balance, b.received, b.sent, b.transfers
    from balances b
    where b.chain_id = c.chain_id
      and b.balance > 0
      and b.address <> '\x0000000000000000000000000000000000000000'::bytea
      and (%(lo)s::bytea is null or b.address between %(lo)s::bytea and %(hi)s::bytea)
      and (%(contains)s::text is null or strpos(encode(b.address, 'hex'), %(contains)s) > 0)
      -- Redundant with the next condition, but a cheap first test.
      and (%(after_balance)s::numeric is null or b.balance <= %(after_balance)s::numeric)
      and (%(after_balance)s::numeric is null
           or b.balance < %(after_balance)s::numeric
           or (b.balance = %(after_balance)s::numeric
               and (b.address > %(after_address)s::bytea
                    or (b.address = %(after_address)s::bytea
                        and b.chain_id > %(after_chain_id)s::integer))))
    order by b.balance desc, b.address
    limit %(limit)s + %(offset)s
) as h
where %(chain_id)s::integer is null or c.chain_id = %(chain_id)s::integer
order by h.balance desc, h.address, h.chain_id
limit %(limit)s offset %(offset)s;

-- name: count_holders
-- Holders under the same filters as list_holders (no cursor).
select count(*) as n
from balances b
where (%(chain_id)s::integer is null or b.chain_id = %(chain_id)s::integer)
  and b.balance > 0
  and b.address <> '\x0000000000000000000000000000000000000000'::bytea
  and (%(lo)s::bytea is null or b.address between %(lo)s::bytea and %(hi)s::bytea)
  and (%(contains)s::text is null or strpos(encode(b.address, 'hex'), %(contains)s) > 0);

-- name: address_balances
-- One address on every chain where it has a balance row: one primary-key probe per chain.
-- First and last transfer times come from the two address indexes of transfers (0004), each
-- read from one end only.
select b.chain_id, b.balance, b.received, b.sent, b.transfers,
       least(
           (select min(t.block_time) from transfers t
            where t.to_address = %(address)s and t.chain_id = b.chain_id),
           (select min(t.block_time) from transfers t
            where t.from_address = %(address)s and t.chain_id = b.chain_id)
       ) as first_time,
       greatest(
           (select max(t.block_time) from transfers t
            where t.to_address = %(address)s and t.chain_id = b.chain_id),
           (select max(t.block_time) from transfers t
            where t.from_address = %(address)s and t.chain_id = b.chain_id)
       ) as last_time
from chains c
join balances b on b.chain_id = c.chain_id and b.address = %(address)s
where b.transfers > 0
order by b.chain_id;
