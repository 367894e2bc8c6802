-- Analytics, both modes: the refresh of the exact per-day structures, the views the store
-- reads (per chain and over every chain), and the analysts' schema with its read-only role.
-- See docs/analysts.md and docs/architecture.md ("Analytics aggregates").

-- A bitmap of analytics_address_days with the bit of p_day set to p_value, for a row whose
-- bit 0 is p_first; grown with zeros at either end when the day lies outside it. Both bitmaps
-- of a row are always put together with the same p_first, so they stay aligned.
create or replace function analytics_bits_put(
    p_bits bit varying, p_first date, p_day date, p_value boolean
)
returns bit varying
language sql
immutable
as $$
    select set_bit(
        case
            when p_day < p_first then repeat('0', p_first - p_day)::bit varying || p_bits
            when p_day - p_first >= length(p_bits)
                then p_bits || repeat('0', p_day - p_first - length(p_bits) + 1)::bit varying
            else p_bits
        end,
        greatest(p_day - p_first, 0),
        case when p_value then 1 else 0 end)
$$;

-- True when a bitmap whose bit 0 is p_first has a set bit for a day of [p_from, p_to).
create or replace function analytics_any_bit(
    p_bits bit varying, p_first date, p_from date, p_to date
)
returns boolean
language sql
immutable
as $$
    select case
        when p_to <= greatest(p_from, p_first) then false
        else position(B'1' in substring(p_bits
            from greatest(p_from - p_first, 0) + 1
            for p_to - p_first - greatest(p_from - p_first, 0))) > 0
    end
$$;

-- Bring the bits of UTC day p_day in analytics_address_days in line with that day's rows of
-- analytics_address_daily: new addresses inserted, changed bits set or cleared; rows whose
-- bit is already right are not written. Besides one row per chain and address, chain_id 0
-- holds one row per address over every chain (a bit set when any chain's is), so a window
-- over every chain reads one row per address, as a chain's window does. Called by
-- analytics_refresh_days only.
create or replace function analytics_refresh_bits(p_day timestamptz)
returns void
language plpgsql
as $$
declare
    dd date := (p_day at time zone 'UTC')::date;
begin
    if to_regclass('pg_temp.analytics_day_activity') is not null then  -- quietly: no NOTICE per call
        drop table analytics_day_activity;
    end if;
    create temporary table analytics_day_activity on commit drop as
    select chain_id, address, sent_transfers > 0 as sent, received_transfers > 0 as received
    from analytics_address_daily
    where day = p_day
    union all
    select 0, address, bool_or(sent_transfers > 0), bool_or(received_transfers > 0)
    from analytics_address_daily
    where day = p_day
    group by address;
    create index on analytics_day_activity (chain_id, address);
    analyze analytics_day_activity;

    insert into analytics_address_days (chain_id, address, first_day, last_day, sent, received)
    select chain_id, address, dd, dd,
           case when sent then B'1' else B'0' end,
           case when received then B'1' else B'0' end
    from analytics_day_activity
    on conflict (chain_id, address) do nothing;

    update analytics_address_days t
    set first_day = least(t.first_day, dd),
        last_day = greatest(t.last_day, dd),
        sent = analytics_bits_put(t.sent, t.first_day, dd, a.sent),
        received = analytics_bits_put(t.received, t.first_day, dd, a.received)
    from analytics_day_activity a
    where t.chain_id = a.chain_id and t.address = a.address
      and case  -- get_bit only inside the bitmap: CASE fixes the order of evaluation
              when dd < t.first_day or dd > t.last_day then true
              else get_bit(t.sent, dd - t.first_day) <> a.sent::integer
                   or get_bit(t.received, dd - t.first_day) <> a.received::integer
          end;

    -- Addresses active that day before the refresh (analytics_old_activity, made by the
    -- caller) and not any more: their transfers were deleted. Only those are read, not every
    -- address whose bitmap spans the day.
    update analytics_address_days t
    set sent = set_bit(t.sent, dd - t.first_day, 0),
        received = set_bit(t.received, dd - t.first_day, 0)
    from (
        select chain_id, address from analytics_old_activity where day = p_day
        union
        select 0, address from analytics_old_activity where day = p_day
    ) as o
    where t.chain_id = o.chain_id and t.address = o.address
      and dd between t.first_day and t.last_day
      and not exists (
          select from analytics_day_activity a
          where a.chain_id = o.chain_id and a.address = o.address
      );
end;
$$;

-- Recompute analytics_address_daily and analytics_daily_uniques for every UTC day that
-- [p_from, p_to) touches, from transfers: delete then insert, so running it twice gives the
-- same rows (idempotent) and rows deleted from transfers (a reorg, a repair) disappear too.
-- One lock serialises refreshes, so the job and `tokenpulse backfill-analytics` can overlap.
create or replace function analytics_refresh_days(p_from timestamptz, p_to timestamptz)
returns void
language plpgsql
as $$
declare
    d0 timestamptz := date_trunc('day', p_from, 'UTC');
    d1 timestamptz := date_trunc('day', p_to - interval '1 microsecond', 'UTC') + interval '1 day';
    d timestamptz;
begin
    if p_to <= p_from then
        return;
    end if;
    perform pg_advisory_xact_lock(hashtext('analytics_refresh'));
    -- The activity being replaced, so analytics_refresh_bits can clear what disappeared.
    if to_regclass('pg_temp.analytics_old_activity') is not null then  -- quietly: no NOTICE per call
        drop table analytics_old_activity;
    end if;
    -- With its sums: analytics_windows_apply subtracts them from the windows' totals.
    create temporary table analytics_old_activity on commit drop as
    select chain_id, day, address, sent_transfers, received_transfers, sent_volume,
           received_volume
    from analytics_address_daily where day >= d0 and day < d1;
    delete from analytics_address_daily where day >= d0 and day < d1;
    insert into analytics_address_daily
        (chain_id, day, address, sent_transfers, received_transfers, sent_volume, received_volume)
    select chain_id, day, address, sum(sent)::integer, sum(received)::integer,
           sum(sent_volume), sum(received_volume)
    from (
        select chain_id, date_trunc('day', block_time, 'UTC') as day, from_address as address,
               count(*) as sent, 0 as received, sum(value) as sent_volume, 0 as received_volume
        from transfers
        where block_time >= d0 and block_time < d1
        group by 1, 2, 3
        union all
        select chain_id, date_trunc('day', block_time, 'UTC'), to_address,
               0, count(*), 0, sum(value)
        from transfers
        where block_time >= d0 and block_time < d1
        group by 1, 2, 3
    ) as sides
    group by chain_id, day, address;

    for d in select generate_series(d0, d1 - interval '1 day', interval '1 day') loop
        perform analytics_refresh_bits(d);
    end loop;
    -- The top addresses' windows (041_analytics_windows.sql, migration 0012).
    perform analytics_windows_apply(d0, d1);

    delete from analytics_daily_uniques where day >= d0 and day < d1;
    insert into analytics_daily_uniques
        (chain_id, day, senders, receivers, active_addresses, median_value)
    with counts as (
        select chain_id, day,
               count(*) filter (where sent_transfers > 0) as senders,
               count(*) filter (where received_transfers > 0) as receivers,
               count(*) as active
        from analytics_address_daily
        where day >= d0 and day < d1
        group by chain_id, day
        union all
        select 0, day,
               count(distinct address) filter (where sent_transfers > 0),
               count(distinct address) filter (where received_transfers > 0),
               count(distinct address)
        from analytics_address_daily
        where day >= d0 and day < d1
        group by day
    ),
    medians as (
        -- Exact median of numeric values (percentile_cont works in double precision, which
        -- cannot hold uint256 amounts): the mean of the lower and upper middle values, over 2.0
        -- so the result keeps a decimal (a uint256 sum over 2 would be rounded to an integer).
        select coalesce(chain_id, 0) as chain_id, day,
               (percentile_disc(0.5) within group (order by value)
                + percentile_disc(0.5) within group (order by value desc)) / 2.0 as median
        from (
            select chain_id, date_trunc('day', block_time, 'UTC') as day, value
            from transfers
            where block_time >= d0 and block_time < d1
        ) as t
        group by grouping sets ((chain_id, day), (day))
    )
    select c.chain_id, c.day, c.senders, c.receivers, c.active, m.median
    from counts c
    join medians m using (chain_id, day);

    -- Each (chain, day)'s 15 largest transfers (migration 0012; the API's topWhales order).
    delete from analytics_daily_largest where day >= d0 and day < d1;
    insert into analytics_daily_largest
        (chain_id, day, block_time, tx_hash, log_index, from_address, to_address, value)
    select chain_id, day, block_time, tx_hash, log_index, from_address, to_address, value
    from (
        select t.chain_id, date_trunc('day', t.block_time, 'UTC') as day, t.block_time,
               t.tx_hash, t.log_index, t.from_address, t.to_address, t.value,
               row_number() over (
                   partition by t.chain_id, date_trunc('day', t.block_time, 'UTC')
                   order by t.value desc, t.block_time desc, t.tx_hash, t.log_index
               ) as rank
        from transfers t
        where t.block_time >= d0 and t.block_time < d1
    ) as ranked
    where rank <= 15;
end;
$$;

-- Per chain and day: the sums (continuous aggregate or table) with the distinct counts.
-- Columns of analytics_daily_uniques are null for a day its refresh has not reached yet.
create or replace view analytics_daily as
select b.day, b.chain_id, b.transfers, b.volume, b.volume_squares, b.largest,
       b.mints, b.minted, b.burns, b.burned,
       u.senders, u.receivers, u.active_addresses, u.median_value
from analytics_daily_base b
left join analytics_daily_uniques u on u.chain_id = b.chain_id and u.day = b.day;

-- Every chain together: sums and maxima of the chains' rows; distinct counts from the
-- chain_id 0 rows (an address active on two chains counts once).
create or replace view analytics_daily_global as
select b.day, b.transfers, b.volume, b.volume_squares, b.largest,
       b.mints, b.minted, b.burns, b.burned,
       u.senders, u.receivers, u.active_addresses, u.median_value
from (
    select day, sum(transfers)::bigint as transfers, sum(volume) as volume,
           sum(volume_squares) as volume_squares, max(largest) as largest,
           sum(mints)::bigint as mints, sum(minted) as minted,
           sum(burns)::bigint as burns, sum(burned) as burned
    from analytics_daily_base
    group by day
) as b
left join analytics_daily_uniques u on u.chain_id = 0 and u.day = b.day;

-- Every chain together per hour: sums and maxima only; hourly distinct counts are per chain
-- (summing them would count an address once per chain).
create or replace view analytics_hourly_global as
select bucket, sum(transfers)::bigint as transfers, sum(volume) as volume,
       sum(volume_squares) as volume_squares, max(largest) as largest,
       sum(mints)::bigint as mints, sum(minted) as minted,
       sum(burns)::bigint as burns, sum(burned) as burned
from analytics_hourly
group by bucket;

-- ---------------------------------------------------------------------------------------
-- The analysts' schema: stable views with hex addresses, documented column by column in
-- docs/analysts.md. Internal tables may change; these views keep their columns.
create schema if not exists analytics;

create or replace view analytics.chains as
select chain_id, name, slug, decimals, first_block, enabled
from chains;

create or replace view analytics.transfers as
select t.chain_id, t.block_time, t.block_number,
       '0x' || encode(t.tx_hash, 'hex') as tx_hash, t.log_index,
       '0x' || encode(t.from_address, 'hex') as from_address,
       '0x' || encode(t.to_address, 'hex') as to_address,
       t.value, t.value / power(10::numeric, c.decimals) as amount
from transfers t
join chains c using (chain_id);

create or replace view analytics.hourly as
select bucket, chain_id, transfers, volume, volume_squares, largest,
       mints, minted, burns, burned, senders, receivers
from analytics_hourly;

create or replace view analytics.hourly_global as
select bucket, transfers, volume, volume_squares, largest, mints, minted, burns, burned
from analytics_hourly_global;

create or replace view analytics.daily as
select day, chain_id, transfers, volume, volume_squares, largest, mints, minted, burns,
       burned, senders, receivers, active_addresses, median_value
from analytics_daily;

create or replace view analytics.daily_global as
select day, transfers, volume, volume_squares, largest, mints, minted, burns, burned,
       senders, receivers, active_addresses, median_value
from analytics_daily_global;

create or replace view analytics.address_daily as
select chain_id, day, '0x' || encode(address, 'hex') as address,
       sent_transfers, received_transfers, sent_volume, received_volume
from analytics_address_daily;

create or replace view analytics.holders as
select chain_id, '0x' || encode(address, 'hex') as address, balance, received, sent, transfers
from balances
where balance > 0 and address <> '\x0000000000000000000000000000000000000000'::bytea;

create or replace view analytics.totals as
select c.chain_id, c.name,
       coalesce(d.transfers, 0) as transfers, coalesce(d.volume, 0) as volume,
       d.first_day, d.last_day,
       coalesce(h.holders, 0) as holders, coalesce(h.supply, 0) as supply
from chains c
left join (
    select chain_id, sum(transfers)::bigint as transfers, sum(volume) as volume,
           min(day) as first_day, max(day) as last_day
    from analytics_daily_base
    group by chain_id
) as d using (chain_id)
left join (
    select chain_id,
           count(*) filter (where balance > 0
               and address <> '\x0000000000000000000000000000000000000000'::bytea) as holders,
           -coalesce(sum(balance) filter (
               where address = '\x0000000000000000000000000000000000000000'::bytea), 0)
               as supply
    from balances
    group by chain_id
) as h using (chain_id);

-- The read-only role: a NOLOGIN group role, granted to analysts' logins by a DBA
-- (docs/analysts.md). Roles belong to the whole cluster: another database's migrate may
-- have made it, and an application user without CREATEROLE leaves it to the DBA.
do $$
begin
    create role tokenpulse_analyst nologin;
exception
    when duplicate_object or unique_violation then null;
    when insufficient_privilege then
        raise notice 'tokenpulse_analyst not created (no CREATEROLE): see docs/analysts.md';
end;
$$;

do $$
begin
    if exists (select from pg_roles where rolname = 'tokenpulse_analyst') then
        grant usage on schema analytics to tokenpulse_analyst;
        grant select on all tables in schema analytics to tokenpulse_analyst;
    end if;
end;
$$;
