{#- The recommenders' temporal split as one row: as_of_date and test_start_date, the first day
    of the evaluation's test window (the last var recommender_eval_days days up to as_of_date). -#}
{% macro recommender_window() -%}
    select
        as_of_date,
        as_of_date + 1 - {{ var('recommender_eval_days') }} as test_start_date
    from (select {{ as_of_date() }} as as_of_date)
{%- endmacro %}
