-- name: ping
select current_setting('server_version') as server_version,
       (select mode from schema_info) as mode;

-- name: get_mode
select mode from schema_info;

-- name: list_migrations
select version, name, sha256, mode, applied_at from schema_migrations order by version;
