-- Bootstrap of the migration ledger, run by app/store/migrate.py before anything else.
-- Re-runnable by design: it is executed on every migrate.
create table if not exists schema_info (
    singleton boolean primary key default true check (singleton),
    mode text not null check (mode in ('timescale', 'portable')),
    created_at timestamptz not null default now(),
    migrated_at timestamptz not null default now()
);

create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    mode text not null,
    applied_at timestamptz not null default now()
);
