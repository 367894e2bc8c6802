-- Each precomputed window's transfers and volume (issue #7), beside its distinct counts: the
-- period before a 7/30/90-day window is then one row of analytics_window_counts instead of a
-- read of 90 days of analytics_daily_base (in timescale mode a real-time continuous aggregate)
-- on every uncached answer. Both come from the window's own rows (analytics_address_windows):
-- every transfer has exactly one sender, so the window's transfers are the sum of its
-- addresses' `sent` and its volume the sum of their `sent_volume`, per chain and over every
-- chain (chain 0), exact. analytics_window_recount (sql/idempotent/041) keeps them.
alter table analytics_window_counts
    add column transfers bigint not null default 0,
    add column volume numeric not null default 0;

-- The existing rows have no sums yet: every window is set aside (as_of null: readers compute
-- the same figures from the per-day tables) until the next analytics_refresh job run or
-- backfill rebuilds it (analytics_windows_catch_up), sums included.
update analytics_window_state set as_of = null;
