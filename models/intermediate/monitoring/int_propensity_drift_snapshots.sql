{#-
    The prediction drift's input: the propensity features of every shopper at successive
    cut-offs, var drift_window_count of them var drift_window_days apart, the last at the
    as-of date (the scoring snapshot's day). Computed by the same macro as the model's training
    and scoring snapshots (customer_activity_features), so the served model can score each
    cut-off exactly as it scores today. A cut-off before the first day of data has nobody in it.
-#}

{%- set step = var('drift_window_days') %}
{%- set windows = var('drift_window_count') %}

with cut_offs as (

    select {{ as_of_date() }} - cast(window_index * {{ step }} as integer) as as_of_date
    from range(0, {{ windows }}) as windows(window_index)

),

as_of_dates as (

    select strftime(as_of_date, '%Y-%m-%d') as snapshot, as_of_date
    from cut_offs
    where as_of_date >= (select min(event_date) from {{ ref('stg_events') }})

),

{{ customer_activity_features('as_of_dates') }}

-- the propensity features (PROPENSITY_FEATURES) with their cut-off and shopper
select * exclude (snapshot, purchase_count, first_active_date, last_active_date)
from activity_features
