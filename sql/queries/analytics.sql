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
