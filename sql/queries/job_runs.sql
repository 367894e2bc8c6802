-- Scheduler job runs (app/store/job_runs.py): one summary row per job.

-- name: record
insert into job_runs as j (
    job, worker, last_started_at, last_finished_at, last_outcome, last_duration_ms,
    last_error, last_success_at, consecutive_failures, runs, failures, next_run_at, updated_at
)
values (
    %(job)s, %(worker)s, %(started_at)s, %(finished_at)s, %(outcome)s, %(duration_ms)s,
    %(error)s,
    case when %(outcome)s = 'ok' then %(finished_at)s::timestamptz end,
    case when %(outcome)s = 'ok' then 0 else 1 end,
    1,
    case when %(outcome)s = 'ok' then 0 else 1 end,
    %(next_run_at)s, clock_timestamp()
)
on conflict (job) do update set
    worker = excluded.worker,
    last_started_at = excluded.last_started_at,
    last_finished_at = excluded.last_finished_at,
    last_outcome = excluded.last_outcome,
    last_duration_ms = excluded.last_duration_ms,
    last_error = excluded.last_error,
    last_success_at = coalesce(excluded.last_success_at, j.last_success_at),
    consecutive_failures = case
        when excluded.last_outcome = 'ok' then 0 else j.consecutive_failures + 1
    end,
    runs = j.runs + 1,
    failures = j.failures + excluded.failures,
    next_run_at = excluded.next_run_at,
    updated_at = excluded.updated_at;

-- name: list_runs
select job, worker, last_started_at, last_finished_at, last_outcome, last_duration_ms,
       last_error, last_success_at, consecutive_failures, runs, failures, next_run_at,
       updated_at
from job_runs
order by job;
