{{ config(severity='warn') }}
-- Not an error: the data span too few days for any day to have var anomaly_min_baseline_days
-- days of history, so no daily anomaly could be looked for.
select
    count(*) as day_metric_count,
    'no day has enough history to be judged: the data span too few days' as message
from {{ ref('data_quality_anomalies') }}
having count(*) filter (where status in ('ok', 'anomaly')) = 0
