{{ config(severity='warn') }}
-- Drift: a WARN, each drifted variable named in the build log, when a model input or output
-- moved by more than var drift_psi_threshold (PSI) between training and the latest window.
{%- if execute %}
    {%- set drift = load_relation(ref('feature_drift')) %}
    {%- if drift is not none %}
        {%- set drifted = run_query("select model, message from " ~ drift ~ " where is_drifted order by all") %}
        {%- for row in drifted.rows %}
            {%- do log("drift in " ~ row[0] ~ ": " ~ row[1], info=True) %}
        {%- endfor %}
    {%- endif %}
{%- endif %}
select model, drift_type, variable, psi, psi_threshold, message
from {{ ref('feature_drift') }}
where is_drifted
