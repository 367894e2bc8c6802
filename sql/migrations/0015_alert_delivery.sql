-- Alert delivery state (app/alerting, issue #9): one row per alert, channel and message
-- (opened, resolved, reminder n), so a restarted or new leader never sends a message twice
-- and keeps retrying one that failed. Plain table in both schema modes: a few rows per alert.
create table alert_deliveries (
    alert_id bigint not null references alerts (id) on delete cascade,
    channel text not null check (channel in ('slack', 'email')),
    event text not null check (event in ('opened', 'resolved', 'reminder')),
    seq integer not null default 0 check (seq >= 0),  -- reminders: 1, 2, ...; else 0
    created_at timestamptz not null default clock_timestamp(),
    attempts integer not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null default clock_timestamp(),
    delivered_at timestamptz,
    failed_at timestamptz,  -- gave up after TOKENPULSE_ALERT_MAX_ATTEMPTS
    last_error text,  -- redacted: never a webhook URL or a password
    primary key (alert_id, channel, event, seq),
    check (delivered_at is null or failed_at is null)
);

-- The delivery job's queue: rows neither delivered nor given up, by when they are due.
create index alert_deliveries_due_idx on alert_deliveries (next_attempt_at)
    where delivered_at is null and failed_at is null;

-- Alerts resolved recently, for enqueuing their resolve messages.
create index alerts_resolved_idx on alerts (resolved_at desc) where resolved_at is not null;
