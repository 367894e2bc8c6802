-- Timescale mode: finality probes are a time series (a row per chain and probe).
select create_hypertable('finality_observations', by_range('observed_at', interval '7 days'));
