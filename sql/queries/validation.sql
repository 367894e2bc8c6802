-- Validation reports (app/store/validation.py).

-- name: insert
insert into validation_reports (
    origin, started_at, finished_at, threshold, report, markdown, flagged
)
values (
    %(origin)s, %(started_at)s, %(finished_at)s, %(threshold)s, %(report)s::jsonb,
    %(markdown)s, %(flagged)s
)
returning id;

-- name: find_latest
select id, origin, started_at, finished_at, threshold, report, markdown, flagged
from validation_reports
order by finished_at desc, id desc
limit 1;

-- name: list_recent
select id, origin, started_at, finished_at, threshold, flagged
from validation_reports
order by finished_at desc, id desc
limit %(limit)s;
