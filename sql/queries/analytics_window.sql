-- The reads of one analytics window (app/store/analytics_window.py). Windows are half-open
-- [from, to) on UTC day starts; a null bound means no bound ("all"). %(chain_id)s null: every
-- chain together.

-- name: window_days
-- Everything an answer needs from the daily sums, in ONE read of analytics_daily_base: in
-- timescale mode each read of that real-time continuous aggregate costs a union with the
-- hourly one and the raw rows above their watermarks, so it is read once, kept (materialized)
-- and grouped twice. Only the columns an answer shows are summed (the squares and mints of
-- the aggregate are analysts' figures, read through the analytics views). Rows by `kind`:
--   day       each day's sums, with its distinct counts and median (analytics_daily_uniques
--             of the chain, or chain 0: every chain together; null for a day the per-day
--             refresh has not reached yet); the window's sums are added up from these (app
--             side, exact);
--   chain     each chain's sums;
--   bucket    each chain-day that can hold one of the %(limit)s largest transfers: its
--             maximum reaches the %(limit)s-th largest of the chain-day maxima (the
--             %(limit)s biggest chain-days each hold a transfer at least that large, so the
--             %(limit)s largest are all at least that large). `kept`: a refreshed day before
--             today, whose 15 largest are in analytics_daily_largest; `floor` is that
--             %(limit)s-th largest maximum (0 with fewer chain-days).
with b as materialized (
    select chain_id, day, transfers, volume, largest
    from analytics_daily_base
    where (%(chain_id)s::integer is null or chain_id = %(chain_id)s::integer)
      and day >= coalesce(%(from)s::timestamptz, '-infinity')
      and day < coalesce(%(to)s::timestamptz, 'infinity')
),
-- Materialized: computed once. Inlined, a generic plan put it inside a nested loop over the
-- chain-days and computed it again for each one (3 ms of 8 for 90 days in portable mode).
floor as materialized (
    select case when count(*) < %(limit)s then 0 else min(top.largest) end as value
    from (select largest from b order by largest desc limit %(limit)s) as top
)
select 'day' as kind, null::integer as chain_id, d.day, d.transfers, d.volume, d.largest,
       u.senders, u.receivers, u.active_addresses, u.median_value,
       null::boolean as kept, null::numeric as floor
from (
    select day, sum(transfers)::bigint as transfers, sum(volume) as volume,
           max(largest) as largest
    from b
    group by day
) as d
left join analytics_daily_uniques u
       on u.chain_id = coalesce(%(chain_id)s::integer, 0) and u.day = d.day
union all
select 'chain', chain_id, null, sum(transfers)::bigint, sum(volume), null, null, null, null,
       null, null, null
from b
group by chain_id
union all
select 'bucket', b.chain_id, b.day, null, null, b.largest, null, null, null, null,
       b.day < date_trunc('day', now(), 'UTC') and u.chain_id is not null, f.value
from b
cross join floor f
left join analytics_daily_uniques u on u.chain_id = b.chain_id and u.day = b.day
where b.largest >= f.value

-- name: window_sums
-- The sums of a period that is not precomputed (a custom range's previous period): one
-- aggregate over its days of analytics_daily_base.
select coalesce(sum(transfers), 0)::bigint as transfers, coalesce(sum(volume), 0) as volume,
       max(largest) as largest, count(distinct day) filter (where transfers > 0) as days
from analytics_daily_base
where (%(chain_id)s::integer is null or chain_id = %(chain_id)s::integer)
  and day >= coalesce(%(from)s::timestamptz, '-infinity')
  and day < coalesce(%(to)s::timestamptz, 'infinity')

-- name: window_span
-- The precomputed window (migration 0012) holding exactly the days of [from, to), if any.
-- Window 0 holds every per-day row: it is [-infinity, to) when no row lies at or after `to`
-- (max(day): one probe of the end of analytics_address_daily_day_idx, whatever the stats).
select s.span_days
from analytics_window_state s
where s.as_of is not null
  and analytics_window_from(s.span_days, s.as_of)
      = coalesce(%(from)s::timestamptz, '-infinity')
  and case when s.span_days = 0
           then coalesce((select max(d.day) from analytics_address_daily d), '-infinity')
                < %(to)s::timestamptz
           else analytics_window_to(s.span_days, s.as_of) = %(to)s::timestamptz end

-- name: counts_kept
-- The distinct counts, transfers and volume of precomputed windows: every chain's row and
-- chain 0's (every chain together). A chain without a row had no transfer in the window.
select span_days, chain_id, senders, receivers, active_addresses, transfers, volume
from analytics_window_counts
where span_days = any(%(spans)s::integer[])

-- name: counts
-- Any other window's distinct counts from the day bitmaps: only addresses active since the
-- window's start are read (last_day), each tested once. Chain 0 is every chain together (an
-- address active on several chains counts once).
with addresses as (
    select analytics_any_bit(sent, first_day, coalesce(%(from_day)s::date, first_day),
                             coalesce(%(to_day)s::date, last_day + 1)) as sent,
           analytics_any_bit(received, first_day, coalesce(%(from_day)s::date, first_day),
                             coalesce(%(to_day)s::date, last_day + 1)) as received
    from analytics_address_days
    where chain_id = %(chain_id)s
      and last_day >= coalesce(%(from_day)s::date, '-infinity')
      and first_day < coalesce(%(to_day)s::date, 'infinity')
)
select count(*) filter (where sent) as senders,
       count(*) filter (where received) as receivers,
       count(*) filter (where sent or received) as active_addresses
from addresses

-- name: chain_counts
-- Each chain's distinct active addresses in any window, from the day bitmaps.
select chain_id, count(*) as active_addresses
from analytics_address_days
where chain_id > 0  -- 0 is every chain together
  and last_day >= coalesce(%(from_day)s::date, '-infinity')
  and first_day < coalesce(%(to_day)s::date, 'infinity')
  and (analytics_any_bit(sent, first_day, coalesce(%(from_day)s::date, first_day),
                         coalesce(%(to_day)s::date, last_day + 1))
       or analytics_any_bit(received, first_day, coalesce(%(from_day)s::date, first_day),
                            coalesce(%(to_day)s::date, last_day + 1)))
group by chain_id

-- name: top_addresses_window
-- The first entries of analytics_address_windows_top_idx (chain_id 0: every chain).
select address, sent, received, sent_volume, received_volume
from analytics_address_windows
where span_days = %(span)s and chain_id = %(chain_id)s
order by transfers desc, volume desc, address
limit %(limit)s

-- name: top_addresses_chain
-- Any other window: analytics_address_daily grouped (the same figures, slower). One query per
-- scope, not `chain_id is null or ...`: with that, a prepared statement's generic plan reads
-- every chain's rows of the window through the day index for a one-chain answer.
select address, sum(sent_transfers)::bigint as sent, sum(received_transfers)::bigint as received,
       sum(sent_volume) as sent_volume, sum(received_volume) as received_volume
from analytics_address_daily
where chain_id = %(chain_id)s
  and day >= coalesce(%(from)s::timestamptz, '-infinity')
  and day < coalesce(%(to)s::timestamptz, 'infinity')
group by address
order by sum(sent_transfers) + sum(received_transfers) desc,
         sum(sent_volume) + sum(received_volume) desc, address
limit %(limit)s

-- name: top_addresses_global
select address, sum(sent_transfers)::bigint as sent, sum(received_transfers)::bigint as received,
       sum(sent_volume) as sent_volume, sum(received_volume) as received_volume
from analytics_address_daily
where day >= coalesce(%(from)s::timestamptz, '-infinity')
  and day < coalesce(%(to)s::timestamptz, 'infinity')
group by address
order by sum(sent_transfers) + sum(received_transfers) desc,
         sum(sent_volume) + sum(received_volume) desc, address
limit %(limit)s
