-- name: volumes
-- Every transfer's amount leaves exactly one sender (mints leave the zero address), so a
-- chain's volume is what its addresses sent: one pass over balances, not over transfers.
select chain_id, coalesce(sum(sent), 0) as volume
from balances
group by chain_id
order by chain_id;
