{{ config(severity='warn') }}
-- Not an error: a documented fallback. Shows in the build log, with the reason, when the data
-- were too few (or too short) to train the propensity model, so customer_propensity is empty.
select status, message from {{ ref('propensity_model') }} where status <> 'trained'
union all
select metric, description from {{ ref('propensity_evaluation') }} where metric = 'not_evaluated'
