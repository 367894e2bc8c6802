-- name: add_range
select lower(r) as from_block, upper(r) - 1 as to_block
from coverage_add(%(chain_id)s, %(from_block)s, %(to_block)s) as r;

-- name: list_ranges
select lower(blocks) as from_block, upper(blocks) - 1 as to_block
from coverage
where chain_id = %(chain_id)s
order by lower(blocks);

-- name: list_gaps
-- Uncovered ranges between first_block and the given head, in block order.
with covered as (
    select lower(blocks) as lo, upper(blocks) - 1 as hi
    from coverage
    where chain_id = %(chain_id)s
      -- Only ranges that touch [first_block, head]: one wholly past the head must not
      -- stretch the gap before it beyond the head.
      and upper(blocks) - 1 >= %(first_block)s
      and lower(blocks) <= %(head)s
), edges as (
    select lo, hi, lag(hi) over (order by lo) as prev_hi from covered
)
select greatest(coalesce(prev_hi + 1, %(first_block)s), %(first_block)s) as from_block,
       lo - 1 as to_block
from edges
where lo > greatest(coalesce(prev_hi + 1, %(first_block)s), %(first_block)s)
union all
select coalesce(max(hi) + 1, %(first_block)s), %(head)s::bigint
from covered
having coalesce(max(hi) + 1, %(first_block)s) <= %(head)s
order by from_block;
