-- Multi-source prices and circuit breakers (issue #8, part 1).

-- Every poll of every price source, failures included: the health scores, the consensus,
-- the last-known-good price and the SLA statistics are all computed from these rows, so a
-- failed poll is a row (ok = false, no price) and never a missing one. A hypertable in
-- timescale mode (sql/timescale/0013_prices_breakers.sql), a plain table otherwise.
create table price_observations (
    observed_at timestamptz not null,  -- when the request was sent
    source text not null,  -- coingecko, coinmarketcap, dexscreener, coinpaprika
    ok boolean not null,
    latency_ms double precision not null check (latency_ms >= 0),
    price_usd numeric check (price_usd > 0),  -- null unless ok
    outcome text not null check (outcome in (
        'ok', 'http_error', 'timeout', 'rate_limited', 'invalid', 'breaker_open', 'error'
    )),
    detail text,  -- redacted reason of a failure; never a key or URL
    quoted_at timestamptz,  -- the source's own "last updated", when it gives one
    liquidity_usd double precision check (liquidity_usd >= 0),  -- DEX liquidity behind it
    check (ok = (outcome = 'ok')),
    check (ok = (price_usd is not null))
);
create index price_observations_source_idx on price_observations (source, observed_at desc);
-- The newest good price per source (last-known-good) without reading failed rows.
create index price_observations_good_idx on price_observations (source, observed_at desc)
    where ok;

-- The worker's circuit breakers, as last published (every few seconds) for the API
-- processes, which have no breakers of their own: the health page, GraphQL and alerts read
-- this table. `transitions` counts state changes since the row was created.
create table upstream_breakers (
    name text primary key,  -- "<provider>[:<chain or source>] <endpoint>"
    provider text not null,  -- etherscan, explorer, rpc, rpc2, price
    state text not null check (state in ('closed', 'open', 'half_open')),
    failures integer not null default 0 check (failures >= 0),
    opened_at timestamptz,
    changed_at timestamptz not null,
    updated_at timestamptz not null,
    transitions bigint not null default 0 check (transitions >= 0)
);

-- Each state change (a bounded history for alert rules and post-mortems).
create table upstream_breaker_transitions (
    at timestamptz not null,
    name text not null,
    from_state text not null check (from_state in ('closed', 'open', 'half_open')),
    to_state text not null check (to_state in ('closed', 'open', 'half_open'))
);
create index upstream_breaker_transitions_at_idx on upstream_breaker_transitions (at desc);
