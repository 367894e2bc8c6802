-- name: upsert_chain
insert into chains (chain_id, name, slug, provider, token_address, decimals, first_block,
                    finality, block_time_seconds, enabled)
values (%(chain_id)s, %(name)s, %(slug)s, %(provider)s, %(token_address)s, %(decimals)s,
        %(first_block)s, %(finality)s, %(block_time_seconds)s, %(enabled)s)
on conflict (chain_id) do update set
    name = excluded.name,
    slug = excluded.slug,
    provider = excluded.provider,
    token_address = excluded.token_address,
    decimals = excluded.decimals,
    first_block = excluded.first_block,
    finality = excluded.finality,
    block_time_seconds = excluded.block_time_seconds,
    enabled = excluded.enabled,
    updated_at = now()
where (chains.name, chains.slug, chains.provider, chains.token_address, chains.decimals,
       chains.first_block, chains.finality, chains.block_time_seconds, chains.enabled)
  is distinct from
      (excluded.name, excluded.slug, excluded.provider, excluded.token_address,
       excluded.decimals, excluded.first_block, excluded.finality,
       excluded.block_time_seconds, excluded.enabled);

-- name: list_chains
select c.chain_id, c.name, c.slug, c.provider, c.token_address, c.decimals, c.first_block,
       c.finality, c.block_time_seconds, c.enabled, c.updated_at,
       coalesce(cov.covered_blocks, 0) as covered_blocks,
       cov.first_covered_block, cov.last_covered_block, coalesce(cov.ranges, 0) as ranges
from chains c
left join lateral (
    select sum(upper(blocks) - lower(blocks))::bigint as covered_blocks,
           min(lower(blocks)) as first_covered_block,
           max(upper(blocks)) - 1 as last_covered_block,
           count(*) as ranges
    from coverage where coverage.chain_id = c.chain_id
) cov on true
order by c.chain_id;
