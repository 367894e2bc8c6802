-- Upstream token figures (app/store/figures.py): an append-only history per chain and figure.

-- name: insert
insert into upstream_figures (
    chain_id, figure, value, block_lo, block_hi, source, ok, error, detail
)
values (
    %(chain_id)s, %(figure)s, %(value)s, %(block_lo)s, %(block_hi)s, %(source)s, %(ok)s,
    %(error)s, %(detail)s
)
returning id, fetched_at;

-- name: latest
-- Per (chain, figure) ever attempted: the newest attempt and the newest good value, each one
-- probe of an index (the good one partial on ok). The age comes from the database clock, as
-- fetched_at does, so a skewed application clock cannot make a value look fresh.
-- Keys come from chains x figures rather than a scan of the history; the inner lateral join
-- drops the pairs never attempted.
with keys as (
    select c.chain_id, f.figure
    from chains c
    cross join unnest(array['supply', 'holders', 'transfers']) as f (figure)
    where %(chain_id)s::integer is null or c.chain_id = %(chain_id)s
)
select k.chain_id, k.figure,
       g.value, g.block_lo, g.block_hi, coalesce(g.source, a.source) as source, g.fetched_at,
       extract(epoch from clock_timestamp() - g.fetched_at)::double precision as age_seconds,
       a.fetched_at as last_attempt_at, a.ok as last_ok, a.error as last_error,
       a.detail as last_detail
from keys k
cross join lateral (
    select fetched_at, ok, error, detail, source from upstream_figures f
    where f.chain_id = k.chain_id and f.figure = k.figure
    order by fetched_at desc, id desc
    limit 1
) a
left join lateral (
    select value, block_lo, block_hi, source, fetched_at from upstream_figures f
    where f.chain_id = k.chain_id and f.figure = k.figure and f.ok
    order by fetched_at desc, id desc
    limit 1
) g on true
order by k.chain_id, k.figure;

-- name: list_recent
select id, chain_id, figure, value, block_lo, block_hi, source, ok, error, detail, fetched_at
from upstream_figures
where chain_id = %(chain_id)s and figure = %(figure)s
order by fetched_at desc, id desc
limit %(limit)s;

-- name: count_transfers
-- Stored transfers of a chain in an inclusive block window (the block-range index).
select count(*) as n
from transfers
where chain_id = %(chain_id)s and block_number between %(block_lo)s and %(block_hi)s;

-- name: prune
-- History older than keep_days goes, except what latest_good reads: the newest attempt and the
-- newest good value of each (chain, figure) stay however old they are.
delete from upstream_figures f
where f.fetched_at < clock_timestamp() - make_interval(days => %(keep_days)s)
  and exists (
      select 1 from upstream_figures n
      where n.chain_id = f.chain_id and n.figure = f.figure
        and (n.fetched_at, n.id) > (f.fetched_at, f.id)
  )
  and (not f.ok or exists (
      select 1 from upstream_figures g
      where g.chain_id = f.chain_id and g.figure = f.figure and g.ok
        and (g.fetched_at, g.id) > (f.fetched_at, f.id)
  ));
