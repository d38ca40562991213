{{ config(severity='warn') }}
-- Prediction drift: a WARN, each drifted window named in the build log, when the propensity
-- scores at a cut-off or the segment shares of a window moved by more than var
-- drift_psi_threshold (PSI) from the reference window (prediction_drift).
{%- if execute %}
    {%- set drift = load_relation(ref('prediction_drift')) %}
    {%- if drift is not none %}
        {%- set drifted = run_query("select model, message from " ~ drift ~ " where is_drifted order by all") %}
        {%- for row in drifted.rows %}
            {%- do log("prediction drift in " ~ row[0] ~ ": " ~ row[1], info=True) %}
        {%- endfor %}
    {%- endif %}
{%- endif %}
select model, variable, window_start_date, window_end_date, psi, psi_threshold, message
from {{ ref('prediction_drift') }}
where is_drifted
