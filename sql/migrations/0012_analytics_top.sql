-- Top addresses of the standard windows, kept by the analytics refresh (both modes; see
-- docs/analytics.md "Top addresses" and sql/idempotent/041_analytics_windows.sql).
--
-- Why: a window's top addresses are a group-by over every (chain, day, address) row of
-- analytics_address_daily in the window, hundreds of milliseconds at 10 M transfers, for
-- 15 rows; its distinct counts test a day bitmap per address ever active since its start.
-- Here each standard window (the last 7, 30 and 90 UTC days, the periods before them, and
-- all days) has one row per (chain, address) active in it with the address's sums over the
-- window, per chain and under chain_id 0 over every chain together, so the top 15 are the
-- first 15 entries of an index, and its distinct counts one row of analytics_window_counts.
-- The refresh keeps the rows exact: it adds what it changes in analytics_address_daily (new
-- rows minus the rows they replace) to every window holding the day, and rebuilds a window
-- from analytics_address_daily when its days moved (once a day, after UTC midnight).

-- Windows: 7, 30, 90: the last n UTC days, today included; -7, -30, -90: the n days before
-- those (their previous period, for the changes); 0: every day up to today.

-- One row per (window, chain or 0, address) with a transfer in the window.
create table analytics_address_windows (
    span_days smallint not null check (span_days in (0, 7, 30, 90, -7, -30, -90)),
    chain_id integer not null check (chain_id >= 0),  -- 0: every chain together
    address bytea not null check (octet_length(address) = 20),
    sent bigint not null,
    received bigint not null,
    sent_volume numeric not null,
    received_volume numeric not null,
    transfers bigint generated always as (sent + received) stored,
    volume numeric generated always as (sent_volume + received_volume) stored,
    primary key (span_days, chain_id, address)
);
-- The order of the API's topAddresses: most transfers, then most volume, then the address.
create index analytics_address_windows_top_idx
    on analytics_address_windows (span_days, chain_id, transfers desc, volume desc, address);

-- Each window's distinct senders, receivers and active addresses per chain (0: every chain
-- together, an address active on two chains once): its rows above, counted by the refresh
-- whenever they change, so a window's exact distinct counts are one row.
create table analytics_window_counts (
    span_days smallint not null,
    chain_id integer not null check (chain_id >= 0),
    senders integer not null,
    receivers integer not null,
    active_addresses integer not null,
    primary key (span_days, chain_id)
);

-- Which days each window's rows hold, relative to `as_of` (the UTC day that was today at
-- its last refresh). Null: not built yet, the next refresh builds it. A reader uses a
-- window only when its days are exactly the ones it asks for; otherwise it reads the per-day
-- tables (analytics_address_daily, analytics_address_days), the same figures, slower.
create table analytics_window_state (
    span_days smallint primary key check (span_days in (0, 7, 30, 90, -7, -30, -90)),
    as_of date
);
insert into analytics_window_state (span_days, as_of)
select span, null from unnest(array[0, 7, 30, 90, -7, -30, -90]::smallint[]) as s (span);

-- The 15 largest transfers of each (chain, UTC day) (app.analytics.breakdowns.TOP, in the
-- API's order: value, then newest), kept by analytics_refresh_days: a window's topWhales are
-- the largest of these rows for its refreshed days, never a read of the window's transfers
-- (the day not refreshed yet, today's newest rows, still reads transfers).
create table analytics_daily_largest (
    chain_id integer not null,
    day timestamptz not null,
    block_time timestamptz not null,
    tx_hash bytea not null,
    log_index integer not null,
    from_address bytea not null,
    to_address bytea not null,
    value numeric(78, 0) not null,
    primary key (chain_id, day, tx_hash, log_index)
);
