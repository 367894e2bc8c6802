-- Top addresses of the standard windows, kept by the analytics refresh (both modes; see
-- docs/analytics.md "Top addresses" and sql/idempotent/041_analytics_windows.sql).
--
-- Why: a window's top addresses are a group-by over every (chain, day, address) row of
-- analytics_address_daily in the window, hundreds of milliseconds at 10 M transfers, for
-- 15 rows. Here each standard window (the last 7, 30 and 90 UTC days, and all days) has one
-- row per (chain, address) active in it with the address's sums over the window, per chain
-- and under chain_id 0 over every chain together, so the top 15 are the first 15 entries of
-- an index. The refresh keeps the rows exact: it adds what it changes in
-- analytics_address_daily (new rows minus the rows they replace) to every window holding
-- the day, and rebuilds a window from analytics_address_daily when its last day is no longer
-- today (once a day: the window moved).

-- One row per (window, chain or 0, address) with a transfer in the window.
create table analytics_address_windows (
    span_days smallint not null check (span_days in (0, 7, 30, 90)),  -- 0: every day
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

-- Which days each window's rows hold: the `span_days` UTC days ending with `as_of` (every
-- day up to `as_of` for span 0). Null: not built yet, the next refresh builds it. A reader
-- uses the rows only when its window is exactly these days, else it groups
-- analytics_address_daily itself.
create table analytics_window_state (
    span_days smallint primary key check (span_days in (0, 7, 30, 90)),
    as_of date
);
insert into analytics_window_state (span_days, as_of) values (0, null), (7, null), (30, null),
    (90, null);
