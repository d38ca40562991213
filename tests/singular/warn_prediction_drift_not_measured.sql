{{ config(severity='warn') }}
-- Not an error: prediction drift could not be measured for these windows (fewer rows than var
-- drift_min_rows, or no trained model), or for none at all (no window with data).
select model, variable, window_end_date, status, message
from {{ ref('prediction_drift') }}
where category = 'all' and status in ('too_small', 'not_evaluated')
union all
select
    'prediction_drift' as model,
    null as variable,
    null as window_end_date,
    'not_evaluated' as status,
    'no window could be measured: too little data' as message
where not exists (
    select 1 from {{ ref('prediction_drift') }}
    where category = 'all' and not is_reference and status in ('ok', 'drifted')
)
