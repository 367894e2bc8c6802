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

-- The end (exclusive) of window p_span when today is p_today.
create or replace function analytics_window_to(p_span smallint, p_today date)
returns timestamptz
language sql
immutable
as $$
    select case
        when p_span >= 0 then analytics_midnight(p_today + 1)
        else analytics_midnight(p_today + p_span + 1)
    end
$$;

-- The distinct counts of window p_span from its rows, per chain and chain 0.
create or replace function analytics_window_recount(p_span smallint)
returns void
language sql
as $$
    delete from analytics_window_counts where span_days = p_span;
    insert into analytics_window_counts
        (span_days, chain_id, senders, receivers, active_addresses)
    select p_span, chain_id, count(*) filter (where sent > 0),
           count(*) filter (where received > 0), count(*)
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
-- holds; a window of an earlier day is rebuilt. Addresses left without a transfer in a
-- window lose their row there. The changes stay in analytics_day_changes until the commit
-- (app.store.analytics.refresh reads which chains changed).
create or replace function analytics_windows_apply(p_from timestamptz, p_to timestamptz)
returns void
language plpgsql
as $$
declare
    today date := (now() at time zone 'UTC')::date;
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

    for w in select span_days, as_of from analytics_window_state order by span_days loop
        if w.as_of is distinct from today then
            perform analytics_windows_rebuild(w.span_days, today);
            continue;
        end if;
        lo := greatest(p_from, analytics_window_from(w.span_days, today));
        hi := least(p_to, analytics_window_to(w.span_days, today));
        if lo >= hi or not exists (select from analytics_day_changes
                                   where day >= lo and day < hi) then
            continue;
        end if;
        insert into analytics_address_windows as t
            (span_days, chain_id, address, sent, received, sent_volume, received_volume)
        select w.span_days, coalesce(c.chain_id, 0), c.address, sum(c.sent), sum(c.received),
               sum(c.sent_volume), sum(c.received_volume)
        from analytics_day_changes c
        where c.day >= lo and c.day < hi
        group by grouping sets ((c.chain_id, c.address), (c.address))
        on conflict (span_days, chain_id, address) do update
        set sent = t.sent + excluded.sent,
            received = t.received + excluded.received,
            sent_volume = t.sent_volume + excluded.sent_volume,
            received_volume = t.received_volume + excluded.received_volume;
        -- Only the addresses just changed can have dropped to nothing.
        delete from analytics_address_windows t
        using (
            select distinct chain_id, address from analytics_day_changes
            where day >= lo and day < hi
            union
            select distinct 0, address from analytics_day_changes
            where day >= lo and day < hi
        ) as c
        where t.span_days = w.span_days and t.chain_id = c.chain_id and t.address = c.address
          and t.sent = 0 and t.received = 0;
        perform analytics_window_recount(w.span_days);
    end loop;
end;
$$;
