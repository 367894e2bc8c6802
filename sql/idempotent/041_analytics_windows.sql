-- Keeping analytics_address_windows and analytics_window_counts (migration 0012) equal to a
-- group-by of analytics_address_daily over each standard window, in both modes. Called by
-- analytics_refresh_days (040_analytics.sql) in its transaction, under its lock, after it has
-- replaced the rows of [p_from, p_to): the replaced rows are still in its temporary table
-- analytics_old_activity. See docs/analytics.md "Precomputed windows".

-- The UTC midnight starting day p_day, as the timestamptz analytics_address_daily.day holds.
create or replace function analytics_midnight(p_day date)
returns timestamptz
language sql
immutable
as $$
    select p_day::timestamp at time zone 'UTC'
$$;

-- The first day of window p_span when today is p_today ('-infinity' for 0, every day).
create or replace function analytics_window_from(p_span smallint, p_today date)
returns timestamptz
language sql
immutable
as $$
    select case
        when p_span = 0 then '-infinity'::timestamptz
        when p_span > 0 then analytics_midnight(p_today - (p_span - 1))
        else analytics_midnight(p_today - (2 * -p_span - 1))  -- the period before the last n
    end
$$;

-- The end (exclusive) of window p_span when today is p_today. Window 0 holds every row of
-- analytics_address_daily, so the day moving on never rebuilds it (a reader checks that no
-- row lies at or after its end: app/store/analytics.py, sql/queries/analytics.sql).
create or replace function analytics_window_to(p_span smallint, p_today date)
returns timestamptz
language sql
immutable
as $$
    select case
        when p_span = 0 then 'infinity'::timestamptz
        when p_span > 0 then analytics_midnight(p_today + 1)
        else analytics_midnight(p_today + p_span + 1)
    end
$$;

-- The distinct counts of window p_span from its rows, per chain and chain 0, and its
-- transfers and volume: every transfer has one sender, so they are the sums of `sent` and
-- `sent_volume` (migration 0017).
create or replace function analytics_window_recount(p_span smallint)
returns void
language sql
as $$
    delete from analytics_window_counts where span_days = p_span;
    insert into analytics_window_counts
        (span_days, chain_id, senders, receivers, active_addresses, transfers, volume)
    select p_span, chain_id, count(*) filter (where sent > 0),
           count(*) filter (where received > 0), count(*), sum(sent), sum(sent_volume)
    from analytics_address_windows
    where span_days = p_span
    group by chain_id;
$$;

-- Window p_span rebuilt from analytics_address_daily as of p_today: once a day per window
-- (its days moved), and the first time.
create or replace function analytics_windows_rebuild(p_span smallint, p_today date)
returns void
language sql
as $$
    delete from analytics_address_windows where span_days = p_span;
    insert into analytics_address_windows
        (span_days, chain_id, address, sent, received, sent_volume, received_volume)
    select p_span, coalesce(chain_id, 0), address, sum(sent_transfers), sum(received_transfers),
           sum(sent_volume), sum(received_volume)
    from analytics_address_daily
    where day >= analytics_window_from(p_span, p_today)
      and day < analytics_window_to(p_span, p_today)
    group by grouping sets ((chain_id, address), (address));
    select analytics_window_recount(p_span);
    update analytics_window_state set as_of = p_today where span_days = p_span;
$$;

-- After analytics_refresh_days replaced the rows of [p_from, p_to): each window whose days
-- are still today's gets the difference (new rows minus the replaced ones) of the days it
-- holds; a bounded window of an earlier day is rebuilt; with tokenpulse.analytics_defer_windows
-- on (a backfill) a window either would change is set aside (as_of null) for
-- analytics_windows_catch_up instead. The changes stay in analytics_day_changes until the
-- commit (app.store.analytics.refresh reads which chains changed).
create or replace function analytics_windows_apply(p_from timestamptz, p_to timestamptz)
returns void
language plpgsql
as $$
declare
    today date := (now() at time zone 'UTC')::date;
    -- Set (set_config(..., true)) by app.store.analytics.refresh for a backfill's days.
    deferred boolean := coalesce(current_setting('tokenpulse.analytics_defer_windows', true),
                                 '') = 'on';
    w record;
    lo timestamptz;
    hi timestamptz;
begin
    if to_regclass('pg_temp.analytics_day_changes') is not null then  -- quietly: no NOTICE
        drop table analytics_day_changes;
    end if;
    -- What changed per (chain, day, address) of the refreshed days.
    create temporary table analytics_day_changes on commit drop as
    select chain_id, day, address, sum(sent)::bigint as sent, sum(received)::bigint as received,
           sum(sent_volume) as sent_volume, sum(received_volume) as received_volume
    from (
        select chain_id, day, address, sent_transfers as sent, received_transfers as received,
               sent_volume, received_volume
        from analytics_address_daily
        where day >= p_from and day < p_to
        union all
        select chain_id, day, address, -sent_transfers, -received_transfers,
               -sent_volume, -received_volume
        from analytics_old_activity
        where day >= p_from and day < p_to
    ) as d
    group by chain_id, day, address
    having sum(sent) <> 0 or sum(received) <> 0 or sum(sent_volume) <> 0
        or sum(received_volume) <> 0;
    analyze analytics_day_changes;

    for w in select span_days, as_of from analytics_window_state order by span_days loop
        lo := greatest(p_from, analytics_window_from(w.span_days, today));
        hi := least(p_to, analytics_window_to(w.span_days, today));
        if w.as_of is null then
            continue;  -- not built (or deferred): analytics_windows_catch_up builds it
        elsif w.as_of <> today and w.span_days <> 0 then
            -- The window's days moved: rebuilt now, unless a backfill defers it.
            if deferred then
                update analytics_window_state set as_of = null where span_days = w.span_days;
            else
                perform analytics_windows_rebuild(w.span_days, today);
            end if;
            continue;
        elsif lo >= hi or not exists (select from analytics_day_changes
                                      where day >= lo and day < hi) then
            update analytics_window_state set as_of = today where span_days = w.span_days;
            continue;
        elsif deferred then
            -- A backfill: many days in a row, each a statement. One rebuild at its end
            -- (catch_up) costs less than a difference per day; readers meanwhile group the
            -- per-day tables (as_of null: the window is not used).
            update analytics_window_state set as_of = null where span_days = w.span_days;
            continue;
        end if;
        perform analytics_windows_add(w.span_days, lo, hi);
        update analytics_window_state set as_of = today where span_days = w.span_days;
    end loop;
end;
$$;

-- Add the changes of the days [p_lo, p_hi) (analytics_day_changes) to window p_span, drop
-- the rows left without a transfer, and recount the window.
create or replace function analytics_windows_add(p_span smallint, p_lo timestamptz,
                                                 p_hi timestamptz)
returns void
language plpgsql
as $$
begin
    if to_regclass('pg_temp.analytics_window_emptied') is null then
        create temporary table analytics_window_emptied (chain_id integer, address bytea)
            on commit drop;
    end if;
    truncate analytics_window_emptied;
    with upserted as (
        insert into analytics_address_windows as t
            (span_days, chain_id, address, sent, received, sent_volume, received_volume)
        select p_span, coalesce(c.chain_id, 0), c.address, sum(c.sent), sum(c.received),
               sum(c.sent_volume), sum(c.received_volume)
        from analytics_day_changes c
        where c.day >= p_lo and c.day < p_hi
        group by grouping sets ((c.chain_id, c.address), (c.address))
        on conflict (span_days, chain_id, address) do update
        set sent = t.sent + excluded.sent,
            received = t.received + excluded.received,
            sent_volume = t.sent_volume + excluded.sent_volume,
            received_volume = t.received_volume + excluded.received_volume
        returning t.chain_id, t.address, t.sent, t.received
    )
    insert into analytics_window_emptied (chain_id, address)
    select u.chain_id, u.address from upserted u where u.sent = 0 and u.received = 0;
    -- Only the rows just changed can have dropped to nothing: a probe each, usually none.
    delete from analytics_address_windows t
    using analytics_window_emptied e
    where t.span_days = p_span and t.chain_id = e.chain_id and t.address = e.address;
    perform analytics_window_recount(p_span);
end;
$$;

-- The windows a backfill deferred, or whose days moved, built now (after a backfill, and at
-- every analytics_refresh job run).
create or replace function analytics_windows_catch_up()
returns void
language plpgsql
as $$
declare
    today date := (now() at time zone 'UTC')::date;
    w record;
begin
    perform pg_advisory_xact_lock(hashtext('analytics_refresh'));
    for w in select span_days from analytics_window_state
             where as_of is null or (as_of <> today and span_days <> 0)
             order by span_days loop
        perform analytics_windows_rebuild(w.span_days, today);
    end loop;
end;
$$;
