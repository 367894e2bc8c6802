-- Alerts (app/store/alerts.py): at most one open alert per dedupe key.

-- name: raise_alert
-- A new open alert, or the open one of that key refreshed (message, details, last_seen_at,
-- occurrences): the conflict target is the partial unique index of open alerts.
insert into alerts as a (kind, severity, chain_id, message, details, dedupe_key)
values (
    %(kind)s, %(severity)s, %(chain_id)s, %(message)s, %(details)s::jsonb, %(dedupe_key)s
)
on conflict (dedupe_key) where resolved_at is null do update set
    severity = excluded.severity,
    message = excluded.message,
    details = excluded.details,
    last_seen_at = clock_timestamp(),
    occurrences = a.occurrences + 1
returning id, (xmax = 0) as created;

-- name: resolve
update alerts set resolved_at = clock_timestamp()
where dedupe_key = %(dedupe_key)s and resolved_at is null
returning id;

-- name: list_open
select id, kind, severity, chain_id, message, details, dedupe_key, occurrences, created_at,
       last_seen_at, resolved_at, notified_at
from alerts
where resolved_at is null and (%(kind)s::text is null or kind = %(kind)s)
order by created_at, id;
