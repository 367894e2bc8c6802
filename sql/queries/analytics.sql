-- Analytics aggregates (app/store/analytics.py). Windows are half-open [from, to) on UTC day
-- starts; a null bound means no bound ("all").

-- name: cagg_windows
select view_name, window_from, window_to from analytics_cagg_windows(%(from)s, %(to)s)

-- name: refresh_cagg
call refresh_continuous_aggregate(%(view)s::regclass, %(from)s::timestamptz, %(to)s::timestamptz)

-- name: refresh
select analytics_refresh(%(from)s, %(to)s)

-- name: defer_windows
-- For this transaction: a backfill's day; analytics_windows_apply sets the windows it would
-- change aside for catch_up_windows (sql/idempotent/041_analytics_windows.sql).
select set_config('tokenpulse.analytics_defer_windows', 'on', true)

-- name: catch_up_windows
select analytics_windows_catch_up()

-- name: refresh_changed
-- In the refresh's transaction: the chains whose (chain, day, address) rows it changed, from
-- the changes analytics_windows_apply kept (sql/idempotent/041_analytics_windows.sql). Every
-- transfer added, removed or changed alters its sender's and receiver's rows of its day.
select distinct chain_id from analytics_day_changes order by chain_id

-- name: apply_retention
select analytics_apply_retention(%(days)s)

-- name: mark_dirty
-- Only rows older than the start of yesterday: newer days are refreshed by every job run
-- (and, in timescale mode, by the refresh policies and real-time aggregation).
insert into analytics_dirty (chain_id, from_time, to_time)
select %(chain_id)s, %(from)s, %(to)s
where %(from)s::timestamptz < date_trunc('day', now(), 'UTC') - interval '1 day'

-- name: mark_blocks
-- Before rows of a block range are deleted: their time range, if old, while they exist.
insert into analytics_dirty (chain_id, from_time, to_time)
select chain_id, min(block_time), max(block_time)
from transfers
where chain_id = %(chain_id)s and block_number between %(lo)s and %(hi)s
group by chain_id
having min(block_time) < date_trunc('day', now(), 'UTC') - interval '1 day'

-- name: list_dirty
select id, chain_id, from_time, to_time from analytics_dirty order by id limit %(limit)s

-- name: delete_dirty
delete from analytics_dirty where id = any(%(ids)s)

-- name: daily_chain
select day, transfers, volume, volume_squares, largest, mints, minted, burns, burned,
       senders, receivers, active_addresses, median_value
from analytics_daily
where chain_id = %(chain_id)s
  and day >= coalesce(%(from)s::timestamptz, '-infinity')
    and day < coalesce(%(to)s::timestamptz, 'infinity')
order by day

-- name: daily_global
select day, transfers, volume, volume_squares, largest, mints, minted, burns, burned,
       senders, receivers, active_addresses, median_value
from analytics_daily_global
where day >= coalesce(%(from)s::timestamptz, '-infinity')
  and day < coalesce(%(to)s::timestamptz, 'infinity')
order by day

-- name: totals_chain
-- Distinct counts from the day bitmaps: only addresses active since the window's start are
-- read (last_day), each tested once.
with sums as (
    select coalesce(sum(transfers), 0)::bigint as transfers, coalesce(sum(volume), 0) as volume,
           coalesce(sum(volume_squares), 0) as volume_squares, max(largest) as largest,
           coalesce(sum(mints), 0)::bigint as mints, coalesce(sum(minted), 0) as minted,
           coalesce(sum(burns), 0)::bigint as burns, coalesce(sum(burned), 0) as burned,
           count(*) as days
    from analytics_daily_base
    where chain_id = %(chain_id)s
      and day >= coalesce(%(from)s::timestamptz, '-infinity')
        and day < coalesce(%(to)s::timestamptz, 'infinity')
),
addresses as (
    select analytics_any_bit(sent, first_day, coalesce(%(from_day)s::date, first_day),
                             coalesce(%(to_day)s::date, last_day + 1)) as sent,
           analytics_any_bit(received, first_day, coalesce(%(from_day)s::date, first_day),
                             coalesce(%(to_day)s::date, last_day + 1)) as received
    from analytics_address_days
    where chain_id = %(chain_id)s
      and last_day >= coalesce(%(from_day)s::date, '-infinity')
      and first_day < coalesce(%(to_day)s::date, 'infinity')
)
select sums.*,
       (select count(*) filter (where sent) from addresses) as senders,
       (select count(*) filter (where received) from addresses) as receivers,
       (select count(*) filter (where sent or received) from addresses) as active_addresses
from sums

-- name: totals_global
-- An address active on several chains counts once.
with sums as (
    select coalesce(sum(transfers), 0)::bigint as transfers, coalesce(sum(volume), 0) as volume,
           coalesce(sum(volume_squares), 0) as volume_squares, max(largest) as largest,
           coalesce(sum(mints), 0)::bigint as mints, coalesce(sum(minted), 0) as minted,
           coalesce(sum(burns), 0)::bigint as burns, coalesce(sum(burned), 0) as burned,
           count(distinct day) as days
    from analytics_daily_base
    where day >= coalesce(%(from)s::timestamptz, '-infinity')
      and day < coalesce(%(to)s::timestamptz, 'infinity')
),
addresses as (
    -- chain_id 0: one row per address over every chain.
    select analytics_any_bit(sent, first_day, coalesce(%(from_day)s::date, first_day),
                             coalesce(%(to_day)s::date, last_day + 1)) as sent,
           analytics_any_bit(received, first_day, coalesce(%(from_day)s::date, first_day),
                             coalesce(%(to_day)s::date, last_day + 1)) as received
    from analytics_address_days
    where chain_id = 0
      and last_day >= coalesce(%(from_day)s::date, '-infinity')
      and first_day < coalesce(%(to_day)s::date, 'infinity')
)
select sums.*,
       (select count(*) filter (where sent) from addresses) as senders,
       (select count(*) filter (where received) from addresses) as receivers,
       (select count(*) filter (where sent or received) from addresses) as active_addresses
from sums

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

-- name: top_addresses_window
-- The first entries of analytics_address_windows_top_idx (chain_id 0: every chain).
select address, sent, received, sent_volume, received_volume
from analytics_address_windows
where span_days = %(span)s and chain_id = %(chain_id)s
order by transfers desc, volume desc, address
limit %(limit)s

-- name: top_addresses_chain
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

-- name: totals_window
-- A precomputed window's totals: the sums of its days, its distinct counts from one row of
-- analytics_window_counts (chain_id 0: every chain together).
with sums as (
    select coalesce(sum(transfers), 0)::bigint as transfers, coalesce(sum(volume), 0) as volume,
           coalesce(sum(volume_squares), 0) as volume_squares, max(largest) as largest,
           coalesce(sum(mints), 0)::bigint as mints, coalesce(sum(minted), 0) as minted,
           coalesce(sum(burns), 0)::bigint as burns, coalesce(sum(burned), 0) as burned,
           count(distinct day) as days
    from analytics_daily_base
    where (%(chain_id)s = 0 or chain_id = %(chain_id)s)
      and day >= coalesce(%(from)s::timestamptz, '-infinity')
      and day < %(to)s::timestamptz
)
select sums.*, coalesce(c.senders, 0) as senders, coalesce(c.receivers, 0) as receivers,
       coalesce(c.active_addresses, 0) as active_addresses
from sums
left join analytics_window_counts c on c.span_days = %(span)s and c.chain_id = %(chain_id)s

-- name: chain_distribution_window
-- chain_distribution of a precomputed window: distinct addresses from analytics_window_counts.
with sums as (
    select chain_id, sum(transfers)::bigint as transfers, sum(volume) as volume
    from analytics_daily_base
    where day >= coalesce(%(from)s::timestamptz, '-infinity')
      and day < %(to)s::timestamptz
    group by chain_id
)
select s.chain_id, s.transfers, s.volume, coalesce(c.active_addresses, 0) as active_addresses
from sums s
left join analytics_window_counts c on c.span_days = %(span)s and c.chain_id = s.chain_id
where s.transfers > 0
order by s.volume desc, s.chain_id

-- name: chain_distribution
with sums as (
    select chain_id, sum(transfers)::bigint as transfers, sum(volume) as volume
    from analytics_daily_base
    where day >= coalesce(%(from)s::timestamptz, '-infinity')
      and day < coalesce(%(to)s::timestamptz, 'infinity')
    group by chain_id
),
addresses as (
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
)
select s.chain_id, s.transfers, s.volume, coalesce(a.active_addresses, 0) as active_addresses
from sums s
left join addresses a using (chain_id)
where s.transfers > 0
order by s.volume desc, s.chain_id
