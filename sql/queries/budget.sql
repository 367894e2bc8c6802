-- Rate budget ledger (app/store/budget.py). Times come from clock_timestamp(), not now():
-- now() is frozen at the start of the caller's transaction, and a slot computed from a stale
-- clock would make the caller wait too long.

-- name: reserve
-- One atomic statement per reservation: the row lock taken by ON CONFLICT serialises
-- concurrent reservations of one key across every process. The inserted tuple carries the
-- clock (updated_at) and the UTC day, which the update reads back through `excluded`.
-- "Refused" (quota used up today) is the condition repeated in three CASEs below.
insert into rate_budget as b (
    key_id, provider, label, next_allowed_at, day, calls_today, daily_quota, updated_at
)
select %(key_id)s, %(provider)s, %(label)s,
       c.t + make_interval(secs => %(interval_seconds)s::double precision),
       (c.t at time zone 'UTC')::date, 1, %(daily_quota)s::integer, c.t
from (select clock_timestamp() as t) as c
on conflict (key_id) do update set
    provider = excluded.provider,
    label = excluded.label,
    daily_quota = excluded.daily_quota,
    quota_exhausted = (
        b.day >= excluded.day and b.calls_today >= coalesce(excluded.daily_quota, 2147483647)
    ),
    calls_today = case
        when b.day < excluded.day then 1
        when b.calls_today >= coalesce(excluded.daily_quota, 2147483647) then b.calls_today
        else b.calls_today + 1
    end,
    next_allowed_at = case
        when b.day >= excluded.day
             and b.calls_today >= coalesce(excluded.daily_quota, 2147483647)
            then b.next_allowed_at
        else greatest(b.next_allowed_at, excluded.updated_at, b.backoff_until)
             + make_interval(secs => %(interval_seconds)s::double precision)
    end,
    day = greatest(b.day, excluded.day),
    updated_at = excluded.updated_at
returning
    quota_exhausted,
    extract(epoch from case
        -- refused: how long until the quota resets at the next UTC midnight
        when quota_exhausted then ((day + 1)::timestamp at time zone 'UTC') - updated_at
        -- granted: the slot starts one interval before the new next_allowed_at
        else next_allowed_at - make_interval(secs => %(interval_seconds)s::double precision)
             - updated_at
    end)::double precision as wait_seconds;

-- name: record_rate_limited
update rate_budget set
    rate_limit_hits = rate_limit_hits + 1,
    backoff_until = greatest(
        backoff_until,
        clock_timestamp() + make_interval(secs => %(backoff_seconds)s::double precision)
    ),
    updated_at = clock_timestamp()
where key_id = %(key_id)s;

-- name: record_call
insert into upstream_calls as u (
    hour, key_id, provider, endpoint, outcome, calls, total_latency_ms, max_latency_ms
)
values (
    date_trunc('hour', clock_timestamp(), 'UTC'), %(key_id)s, %(provider)s, %(endpoint)s,
    %(outcome)s, 1, %(latency_ms)s::double precision, %(latency_ms)s::double precision
)
on conflict (hour, key_id, endpoint, outcome) do update set
    calls = u.calls + 1,
    total_latency_ms = u.total_latency_ms + excluded.total_latency_ms,
    max_latency_ms = greatest(u.max_latency_ms, excluded.max_latency_ms);

-- name: list_budgets
select key_id, provider, label, next_allowed_at, day, calls_today, daily_quota,
       quota_exhausted, rate_limit_hits, backoff_until, updated_at,
       greatest(0, extract(epoch from backoff_until - clock_timestamp()))::double precision
           as backoff_seconds
from rate_budget
order by provider, label;

-- name: list_calls
select hour, key_id, provider, endpoint, outcome, calls, total_latency_ms, max_latency_ms
from upstream_calls
where hour >= date_trunc('hour', clock_timestamp(), 'UTC')
             - make_interval(hours => %(hours)s::integer)
order by hour desc, provider, endpoint, outcome;
