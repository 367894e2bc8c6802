-- name: list_chain_freshness
-- Per chain: newest and oldest stored transfer and the last coverage write. Each lateral is
-- one probe of transfers_chain_time_idx (or a chunk-ordered append on a hypertable), so this
-- stays cheap however many transfers there are; it never counts rows.
select c.chain_id,
       newest.block_time as last_time,
       newest.block_number as last_block,
       oldest.block_time as first_time,
       cov.updated_at as coverage_updated_at
from chains c
left join lateral (
    select t.block_time, t.block_number from transfers t
    where t.chain_id = c.chain_id
    order by t.block_time desc, t.block_number desc, t.log_index desc
    limit 1
) newest on true
left join lateral (
    select t.block_time from transfers t
    where t.chain_id = c.chain_id
    order by t.block_time
    limit 1
) oldest on true
left join lateral (
    select max(coverage.updated_at) as updated_at from coverage
    where coverage.chain_id = c.chain_id
) cov on true
order by c.chain_id;
