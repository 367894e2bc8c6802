-- Balance totals without a precision limit. An address's received and sent totals add up
-- every transfer it ever took part in, and each transfer may carry up to 2^256 - 1: a few
-- such transfers to one address pass numeric(78, 0)'s 78 digits, and the batch carrying them
-- would then fail at every retry, stopping the chain's ingestion. Unconstrained numeric holds
-- any sum exactly; the values are still integers (they only ever add and subtract
-- numeric(78, 0) amounts of transfers). The generated balance depends on both columns, so it
-- is dropped and added again (one rewrite of the table).
alter table balances drop column balance;
alter table balances
    alter column received type numeric,
    alter column sent type numeric;
alter table balances
    add column balance numeric generated always as (received - sent) stored;
