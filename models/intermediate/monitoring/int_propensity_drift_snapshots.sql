{#-
    The prediction drift's input: the propensity features of every shopper at successive
    cut-offs, var drift_window_count of them var drift_window_days apart, the last at the
    as-of date (the scoring snapshot's day). Computed by the same macro as the model's training
    and scoring snapshots (customer_activity_features), so the served model can score each
    cut-off exactly as it scores today. A cut-off before the first day of data has nobody in it.
    With var drift_sample_shoppers above 0, only that many shoppers, a seeded sample (the
    smallest hashes of user_id and var ml_seed among those active by the last cut-off): the
    same shoppers at every cut-off, each with the same features as without the bound.
-#}

{%- set step = var('drift_window_days') %}
{%- set windows = var('drift_window_count') %}
{%- set sample = var('drift_sample_shoppers') | string %}
{%- if not sample.isdigit() %}
    {{ exceptions.raise_compiler_error("var drift_sample_shoppers must be a whole number of shoppers (0 = all), got '" ~ sample ~ "'") }}
{%- endif %}
{%- set sample = sample | int %}

with cut_offs as (

    select {{ as_of_date() }} - cast(window_index * {{ step }} as integer) as as_of_date
    from range(0, {{ windows }}) as windows(window_index)

),

as_of_dates as (

    select strftime(as_of_date, '%Y-%m-%d') as snapshot, as_of_date
    from cut_offs
    where as_of_date >= (select min(event_date) from {{ ref('stg_events') }})

),
{%- if sample > 0 %}

sampled_shoppers as (

    select user_id
    from {{ ref('int_customer_daily_activity') }}
    where activity_date <= (select max(as_of_date) from as_of_dates)
    group by user_id
    order by {{ row_hash_key(['user_id', var('ml_seed')]) }}, user_id
    limit {{ sample }}

),

{{ customer_activity_features('as_of_dates', 'sampled_shoppers') }}
{%- else %}

{{ customer_activity_features('as_of_dates') }}
{%- endif %}

-- the propensity features (PROPENSITY_FEATURES) with their cut-off and shopper
select * exclude (snapshot, purchase_count, first_active_date, last_active_date)
from activity_features
