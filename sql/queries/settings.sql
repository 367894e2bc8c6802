-- name: list_settings
select key, value, updated_at, updated_by from runtime_settings order by key;

-- name: upsert_setting
insert into runtime_settings (key, value, updated_at, updated_by)
values (%(key)s, %(value)s, now(), %(updated_by)s)
on conflict (key) do update set
    value = excluded.value,
    updated_at = excluded.updated_at,
    updated_by = excluded.updated_by
returning key, value, updated_at, updated_by;

-- name: delete_setting
delete from runtime_settings where key = %(key)s returning key;

-- name: notify_changed
-- Delivered when the caller's transaction commits (never on rollback): listeners reload.
select pg_notify('tokenpulse_settings', %(key)s);

-- name: lock_writers
-- Conflicts with itself and with row changes, not with plain reads (the watchers' loads).
lock table runtime_settings in share row exclusive mode;
