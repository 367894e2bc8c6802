-- Timescale mode: 30-day chunks for transfers from now on (0001 made them 7 days). Keyset
-- pages plan over every chunk the time bounds leave in, and one token's transfers are few per
-- chunk: planning, not reading, dominated a page on 7-day chunks (docs/performance.md).
-- Existing chunks keep their interval; only new ones are longer.
select set_chunk_time_interval('transfers', interval '30 days');
