-- Per-chain ingestion status (app/store/ingest_status.py), one row per chain.

-- name: record_success
insert into ingest_status as s (
    chain_id, head, safe_head, last_success_at, consecutive_failures, backoff_until,
    last_cycle, updated_at
)
values (
    %(chain_id)s, %(head)s, %(safe_head)s, clock_timestamp(), 0, null, %(cycle)s::jsonb,
    clock_timestamp()
)
on conflict (chain_id) do update set
    head = coalesce(excluded.head, s.head),
    safe_head = coalesce(excluded.safe_head, s.safe_head),
    last_success_at = excluded.last_success_at,
    consecutive_failures = 0,
    backoff_until = null,
    last_cycle = excluded.last_cycle,
    updated_at = excluded.updated_at;

-- name: record_failure
-- The back-off doubles with each consecutive failure from base_seconds, up to cap_seconds.
insert into ingest_status as s (
    chain_id, head, safe_head, last_error_at, last_error, consecutive_failures, backoff_until,
    updated_at
)
values (
    %(chain_id)s, %(head)s, %(safe_head)s, clock_timestamp(), %(error)s, 1,
    clock_timestamp() + make_interval(secs => least(%(cap_seconds)s, %(base_seconds)s)),
    clock_timestamp()
)
on conflict (chain_id) do update set
    head = coalesce(excluded.head, s.head),
    safe_head = coalesce(excluded.safe_head, s.safe_head),
    last_error_at = excluded.last_error_at,
    last_error = excluded.last_error,
    consecutive_failures = s.consecutive_failures + 1,
    backoff_until = excluded.last_error_at + make_interval(secs => least(
        %(cap_seconds)s::double precision,
        %(base_seconds)s::double precision * power(2, least(s.consecutive_failures, 30))
    )),
    updated_at = excluded.updated_at
returning consecutive_failures, backoff_until;

-- name: find
select chain_id, head, safe_head, last_success_at, last_error_at, last_error,
       consecutive_failures, backoff_until, last_cycle, updated_at
from ingest_status
where chain_id = %(chain_id)s;

-- name: list_all
select chain_id, head, safe_head, last_success_at, last_error_at, last_error,
       consecutive_failures, backoff_until, last_cycle, updated_at
from ingest_status
order by chain_id;
