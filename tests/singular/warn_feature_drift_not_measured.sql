{{ config(severity='warn') }}
-- Not an error: drift could not be measured for these variables (a window with fewer rows than
-- var drift_min_rows, or no trained model).
select model, drift_type, variable, status, message
from {{ ref('feature_drift') }}
where status in ('too_small', 'not_evaluated')
