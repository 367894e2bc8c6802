-- name: upsert_breaker
-- `changed_at` moves only when the state changed (here or in the worker since the last
-- publish); `transitions` adds the worker's new transitions to the stored count.
insert into upstream_breakers
    (name, provider, state, failures, opened_at, changed_at, updated_at, transitions)
values (%(name)s, %(provider)s, %(state)s, %(failures)s, %(opened_at)s, %(changed_at)s, now(),
        %(new_transitions)s)
on conflict (name) do update set
    provider = excluded.provider,
    state = excluded.state,
    failures = excluded.failures,
    opened_at = excluded.opened_at,
    changed_at = case
        when upstream_breakers.state <> excluded.state or %(new_transitions)s > 0
        then excluded.changed_at
        else upstream_breakers.changed_at
    end,
    updated_at = now(),
    transitions = upstream_breakers.transitions + %(new_transitions)s;

-- name: insert_transition
insert into upstream_breaker_transitions (at, name, from_state, to_state)
values (%(at)s, %(name)s, %(from_state)s, %(to_state)s);

-- name: list_breakers
select name, provider, state, failures, opened_at, changed_at, updated_at, transitions,
       extract(epoch from now() - updated_at)::double precision as age_seconds
from upstream_breakers
order by provider, name;

-- name: list_transitions
select at, name, from_state, to_state
from upstream_breaker_transitions
where at >= %(since)s
order by at desc
limit %(limit)s;

-- name: delete_transitions_before
delete from upstream_breaker_transitions where at < %(before)s;
