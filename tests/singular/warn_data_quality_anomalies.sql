{{ config(severity='warn') }}
-- Daily data anomalies: a WARN, each day named in the build log, when a day's volume,
-- quarantine share or imputed share is far from the days before (data_quality_anomalies).
{%- if execute %}
    {%- set anomalies = load_relation(ref('data_quality_anomalies')) %}
    {%- if anomalies is not none %}
        {%- set days = run_query("select metric_date::varchar, metric, round(value, 4)::varchar, round(baseline_median, 4)::varchar from " ~ anomalies ~ " where is_anomaly order by all") %}
        {%- for row in days.rows %}
            {%- do log("data anomaly on " ~ row[0] ~ ": " ~ row[1] ~ " = " ~ row[2] ~ " (median before: " ~ row[3] ~ ")", info=True) %}
        {%- endfor %}
    {%- endif %}
{%- endif %}
select metric_date, metric, value, baseline_median, robust_z
from {{ ref('data_quality_anomalies') }}
where is_anomaly
