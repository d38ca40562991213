{#-
    The propensity model's time split. Three snapshots of the customer features, each computed
    only from activity on or before its day (macro customer_activity_features):
      evaluation_train  as of as_of_date - 2h   label: bought in (as_of - 2h, as_of - h]
      final_train       as of as_of_date - h    label: bought in (as_of - h, as_of]
      score             as of as_of_date        label: unknown (the future)
    with h = var propensity_horizon_days (30). The evaluation fits on evaluation_train and tests
    on final_train; the served model fits on final_train and scores `score`.
-#}

{%- set horizon = var('propensity_horizon_days') %}

with as_of_dates as (

    select snapshot, as_of_date
    from (
        select 'evaluation_train' as snapshot, {{ as_of_date() }} - {{ 2 * horizon }} as as_of_date
        union all
        select 'final_train', {{ as_of_date() }} - {{ horizon }}
        union all
        select 'score', {{ as_of_date() }}
    )
    -- a snapshot before the first day of data has nobody in it
    where as_of_date >= (select min(event_date) from {{ ref('stg_events') }})

),

{{ customer_activity_features('as_of_dates') }},

purchase_days as (

    select user_id, activity_date
    from {{ ref('int_customer_daily_activity') }}
    where purchase_count > 0

),

labels as (

    select
        as_of.snapshot,
        purchase_days.user_id,
        true as has_purchase
    from as_of_dates as as_of
    inner join purchase_days
        on purchase_days.activity_date > as_of.as_of_date
        and purchase_days.activity_date <= as_of.as_of_date + {{ horizon }}
    where as_of.snapshot <> 'score'
    group by all

)

select
    activity_features.snapshot,
    activity_features.as_of_date,
    activity_features.user_id,
    activity_features.session_count,
    activity_features.view_count,
    activity_features.cart_count,
    activity_features.order_count,
    activity_features.revenue,
    activity_features.average_basket,
    activity_features.conversion_rate,
    activity_features.cart_abandonment_rate,
    activity_features.days_active,
    activity_features.tenure_days,
    activity_features.days_since_last_event,
    activity_features.days_since_last_order,
    activity_features.views_last_7_days,
    activity_features.views_last_30_days,
    activity_features.carts_last_30_days,
    activity_features.orders_last_90_days,
    case
        when activity_features.snapshot = 'score' then null
        else coalesce(labels.has_purchase, false)
    end as label
from activity_features
left join labels
    on activity_features.snapshot = labels.snapshot
    and activity_features.user_id = labels.user_id
