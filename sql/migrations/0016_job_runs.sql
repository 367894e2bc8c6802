-- Scheduler job runs (issue #9): one row per job name, upserted by schedulers/jobs.py run_job
-- after every run through app/store/job_runs.py, so /api/health, the status page and
-- /metrics can show each job's last run, outcome, next run and consecutive failures from any
-- API process (the scheduler itself lives only in the leader worker's memory).
-- Both schema modes use this plain table: a few dozen small rows, rewritten in place.
create table job_runs (
    job text primary key,  -- the JOBS id: sync_chains, tip:<chain id>, backfill, ...
    worker text,  -- host:pid of the worker that ran it last
    last_started_at timestamptz not null,
    last_finished_at timestamptz not null,
    last_outcome text not null check (last_outcome in ('ok', 'failed')),
    last_duration_ms double precision not null check (last_duration_ms >= 0),
    last_error text,  -- the exception's class and redacted message; null after a success
    last_success_at timestamptz,
    consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
    runs bigint not null default 0 check (runs >= 0),  -- since the row was created
    failures bigint not null default 0 check (failures >= 0),
    next_run_at timestamptz,  -- the scheduler's next run time as the run ended
    updated_at timestamptz not null default now()
);
