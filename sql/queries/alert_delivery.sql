-- Alert delivery (app/store/alert_delivery.py): a durable queue of messages per alert and
-- channel. Enqueuing is idempotent (the primary key), so any leader may run it any time.

-- name: enqueue_opened
-- An "opened" message per channel for every open alert, whoever raised it (the evaluator,
-- the validation run). A channel configured later announces the alerts already open.
insert into alert_deliveries (alert_id, channel, event, seq)
select a.id, ch.channel, 'opened', 0
from alerts a cross join unnest(%(channels)s::text[]) as ch (channel)
where a.resolved_at is null
on conflict do nothing;

-- name: enqueue_resolved
-- A "resolved" message where the opening was (or will be) delivered on that channel; an
-- opening given up on gets no resolve either. Only recent resolves: not a week-old backlog.
insert into alert_deliveries (alert_id, channel, event, seq)
select a.id, d.channel, 'resolved', 0
from alerts a
join alert_deliveries d on d.alert_id = a.id and d.event = 'opened' and d.seq = 0
where a.resolved_at > clock_timestamp() - interval '1 day' and d.failed_at is null
on conflict do nothing;

-- name: cancel_reminders
-- Reminders still queued for an alert that has been resolved meanwhile are never sent.
update alert_deliveries d set failed_at = clock_timestamp(), last_error = 'resolved before sent'
from alerts a
where a.id = d.alert_id and a.resolved_at is not null and d.event = 'reminder'
  and d.delivered_at is null and d.failed_at is null;

-- name: enqueue_reminders
-- Long-held critical alerts are announced again every renotify_seconds per channel, once the
-- channel's previous message for the alert is done with.
insert into alert_deliveries (alert_id, channel, event, seq)
select a.id, d.channel, 'reminder', max(d.seq) + 1
from alerts a
join alert_deliveries d on d.alert_id = a.id
where a.resolved_at is null and a.severity = 'critical'
group by a.id, d.channel
having bool_and(d.delivered_at is not null or d.failed_at is not null)
   and max(d.delivered_at)
       < clock_timestamp() - make_interval(secs => %(renotify_seconds)s::double precision)
on conflict do nothing;

-- name: list_due
-- Messages due now, oldest first. A resolve or reminder waits until the opening of the same
-- alert and channel is done with, so people never read "resolved" before "opened".
select d.alert_id, d.channel, d.event, d.seq, d.attempts,
       a.kind, a.severity, a.chain_id, a.message, a.details, a.dedupe_key, a.occurrences,
       a.created_at, a.last_seen_at, a.resolved_at
from alert_deliveries d
join alerts a on a.id = d.alert_id
where d.delivered_at is null and d.failed_at is null
  and d.next_attempt_at <= clock_timestamp() and d.channel = any(%(channels)s::text[])
  and (d.event = 'opened' or not exists (
      select from alert_deliveries o
      where o.alert_id = d.alert_id and o.channel = d.channel and o.event = 'opened'
        and o.delivered_at is null and o.failed_at is null
  ))
order by d.created_at, d.alert_id, d.seq
limit %(limit)s;

-- name: start_attempt
-- Counted and pushed back before the message is sent, in its own transaction: a crash while
-- sending retries after the back-off instead of at once, or never.
update alert_deliveries set
    attempts = attempts + 1,
    next_attempt_at = clock_timestamp() + make_interval(secs => %(retry_seconds)s::double precision)
where alert_id = %(alert_id)s and channel = %(channel)s and event = %(event)s and seq = %(seq)s
returning attempts;

-- name: mark_delivered
with done as (
    update alert_deliveries set delivered_at = clock_timestamp(), last_error = null
    where alert_id = %(alert_id)s and channel = %(channel)s and event = %(event)s
      and seq = %(seq)s
    returning alert_id, event
)
update alerts a set notified_at = coalesce(a.notified_at, clock_timestamp())
from done
where a.id = done.alert_id and done.event = 'opened';

-- name: mark_failed
update alert_deliveries set
    last_error = %(error)s,
    failed_at = case when attempts >= %(max_attempts)s then clock_timestamp() end
where alert_id = %(alert_id)s and channel = %(channel)s and event = %(event)s and seq = %(seq)s;

-- name: list_for_alert
select alert_id, channel, event, seq, attempts, created_at, next_attempt_at, delivered_at,
       failed_at, last_error
from alert_deliveries
where alert_id = %(alert_id)s
order by channel, created_at, seq;
