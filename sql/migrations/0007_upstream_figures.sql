-- Upstream token figures, validation reports and alerts (issue #6, part 2).
-- Plain tables in both schema modes: a few rows per chain and hour.

-- Append-only history of what the explorers and nodes said about the token: total supply,
-- holder count and the number of transfers (tokentx rows) in a block window. Failed attempts
-- are rows too (ok = false, an error code, no value), so "the newest attempt failed" and
-- "the last good value" are both one index probe away, and a refusal is never stored as 0.
create table upstream_figures (
    id bigint generated always as identity primary key,
    chain_id integer not null references chains (chain_id),
    figure text not null check (figure in ('supply', 'holders', 'transfers')),
    value numeric(78, 0) check (value >= 0),  -- raw units for supply; null when not ok
    block_lo bigint,  -- the inclusive block window of a transfers count; null otherwise
    block_hi bigint,
    source text not null,  -- who answered: etherscan, explorer or rpc
    ok boolean not null,
    error text,  -- a stable code (upstream_refused, upstream_not_on_plan, not_offered, ...)
    detail text,  -- the redacted upstream sentence, never a key or URL
    fetched_at timestamptz not null default clock_timestamp(),
    check (ok = (value is not null)),
    check (ok or error is not null),
    check ((block_lo is null) = (block_hi is null)),
    check (block_lo is null or (block_lo >= 0 and block_lo <= block_hi)),
    check (figure = 'transfers' or block_lo is null)
);

-- "Newest attempt per (chain, figure)" and, partial, "newest good value per (chain, figure)".
create index upstream_figures_latest_idx on upstream_figures (chain_id, figure, fetched_at desc);
create index upstream_figures_good_idx on upstream_figures (chain_id, figure, fetched_at desc)
    where ok;

-- Every validation run (the nightly job, `tokenpulse validate`): the whole report as JSON and
-- as Markdown, and how many comparisons went over the threshold.
create table validation_reports (
    id bigint generated always as identity primary key,
    origin text not null,  -- nightly or cli
    started_at timestamptz not null,
    finished_at timestamptz not null,
    threshold double precision not null check (threshold >= 0),
    report jsonb not null,
    markdown text not null,
    flagged integer not null check (flagged >= 0)
);

create index validation_reports_time_idx on validation_reports (finished_at desc);

-- Alerts of any kind (validation variance today; the ops notifiers deliver them later).
-- One open alert per dedupe key: raising it again only refreshes it; resolving closes it,
-- after which the same key may open a new alert.
create table alerts (
    id bigint generated always as identity primary key,
    kind text not null,  -- e.g. validation_variance
    severity text not null check (severity in ('info', 'warning', 'critical')),
    chain_id integer references chains (chain_id),
    message text not null,
    details jsonb not null default '{}'::jsonb,
    dedupe_key text not null,
    occurrences integer not null default 1 check (occurrences >= 1),
    created_at timestamptz not null default clock_timestamp(),
    last_seen_at timestamptz not null default clock_timestamp(),
    resolved_at timestamptz,
    notified_at timestamptz,  -- set by a notifier once delivered (ops issue)
    check (resolved_at is null or resolved_at >= created_at)
);

create unique index alerts_open_key_idx on alerts (dedupe_key) where resolved_at is null;
create index alerts_time_idx on alerts (created_at desc);
