{{ config(severity='warn') }}
-- Not an error: before the API has served (or the demo been replayed with
-- `make replay-feedback`) there is nothing to measure. Shows in the build log when it happens.
select message
from {{ ref('recommendation_performance') }}
where status = 'no_impressions'
