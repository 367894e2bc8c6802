-- Record [lo, hi] as covered for a chain, merging with every overlapping or adjacent range,
-- so the ledger stays a minimal set of disjoint ranges. Runs in the caller's transaction.
create or replace function coverage_add(p_chain_id integer, p_lo bigint, p_hi bigint)
returns int8range
language plpgsql
as $$
declare
    merged int8range;
    lo bigint;
    hi bigint;
begin
    if p_lo > p_hi then
        raise exception 'coverage_add: empty range [%, %]', p_lo, p_hi
            using errcode = '22003';
    end if;
    -- Built after the check: int8range() itself would fail first with a vaguer message.
    merged := int8range(p_lo, p_hi, '[]');
    -- Serialise writers per chain: two merges of neighbouring ranges must not interleave.
    perform pg_advisory_xact_lock(hashtext('coverage'), p_chain_id);
    with gone as (
        delete from coverage
        where chain_id = p_chain_id
          and (blocks && merged or blocks -|- merged)
        returning lower(blocks) as l, upper(blocks) as u
    )
    select min(l), max(u) into lo, hi from gone;
    if lo is not null then
        merged := int8range(least(lo, lower(merged)), greatest(hi, upper(merged)), '[)');
    end if;
    insert into coverage (chain_id, blocks) values (p_chain_id, merged);
    return merged;
end;
$$;
