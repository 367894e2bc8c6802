-- Timescale mode: price observations are a time series (a row per source and poll).
select create_hypertable('price_observations', by_range('observed_at', interval '7 days'));
