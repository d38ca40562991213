{{ config(severity='warn') }}
-- The bias audit: a WARN, with each flagged slice named in the build log, when a model's worst
-- slice falls below var fairness_min_ratio of its best (model_fairness_audit.is_flagged).
{%- if execute %}
    {%- set audit = load_relation(ref('model_fairness_audit')) %}
    {%- if audit is not none %}
        {%- set flagged = run_query("select model_family, model, message from " ~ audit ~ " where is_flagged order by all") %}
        {%- for row in flagged.rows %}
            {%- do log("bias audit flagged " ~ row[0] ~ " / " ~ row[1] ~ ": " ~ row[2], info=True) %}
        {%- endfor %}
    {%- endif %}
{%- endif %}
select model_family, model, metric, slice_type, slice, value, best_value, worst_to_best_ratio, message
from {{ ref('model_fairness_audit') }}
where is_flagged
