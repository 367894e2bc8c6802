-- name: upsert_heartbeat
insert into worker_heartbeats (worker_id, hostname, pid, role, version, started_at)
values (%(worker_id)s, %(hostname)s, %(pid)s, %(role)s, %(version)s, %(started_at)s)
on conflict (worker_id) do update set
    role = excluded.role,
    heartbeat_at = now();

-- name: delete_heartbeat
delete from worker_heartbeats where worker_id = %(worker_id)s;

-- name: list_workers
select worker_id, hostname, pid, role, version, started_at, heartbeat_at,
       extract(epoch from now() - heartbeat_at)::double precision as age_seconds
from worker_heartbeats
order by role, heartbeat_at desc;

-- name: delete_stale
delete from worker_heartbeats where heartbeat_at < now() - make_interval(secs => %(older_than_seconds)s);

-- name: try_leader_lock
select pg_try_advisory_lock(%(key)s) as acquired;

-- name: release_leader_lock
select pg_advisory_unlock(%(key)s) as released;

-- name: holds_leader_lock
-- A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
select exists (
    select from pg_locks
    where locktype = 'advisory' and granted and pid = pg_backend_pid() and objsubid = 1
      and classid = ((%(key)s::bigint >> 32) & 4294967295)::oid
      and objid = (%(key)s::bigint & 4294967295)::oid
) as held;

-- name: configure_lock_session
-- Server-side TCP keepalives for the leader-lock session: if the leader's host vanishes
-- without closing the socket, the server ends the session (freeing the lock) after about
-- idle + 3 * interval seconds instead of the OS default of hours. No-op over a unix socket.
select set_config('tcp_keepalives_idle', %(idle)s, false) as idle,
       set_config('tcp_keepalives_interval', %(interval)s, false) as interval,
       set_config('tcp_keepalives_count', '3', false) as count;
