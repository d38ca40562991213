{#-
    Behaviour features of every shopper as of the end of each day in `as_of_dates` (a relation
    or CTE with columns snapshot, as_of_date). Only activity on or before that day is used:
    daily activity up to the day, sessions started by then, carts and purchases made by then.
    Shared by customer_features (one day) and the propensity snapshots (several days), so the
    model is trained and applied on features defined once.
    `shoppers`: a relation or CTE with column user_id to compute the features of only these
    shoppers (the same values as without it, for fewer rows); none = every shopper.
-#}
{% macro customer_activity_features(as_of_dates, shoppers=none) %}
daily_activity as (

    select
        as_of.snapshot,
        as_of.as_of_date,
        daily.user_id,
        sum(daily.view_count) as view_count,
        sum(daily.cart_count) as cart_count,
        sum(daily.purchase_count) as purchase_count,
        sum(daily.purchase_revenue) as revenue,
        count(*) as days_active,
        min(daily.activity_date) as first_active_date,
        max(daily.activity_date) as last_active_date,
        max(daily.activity_date) filter (where daily.purchase_count > 0) as last_purchase_date,
        coalesce(sum(daily.view_count) filter (where daily.activity_date > as_of.as_of_date - 7), 0) as views_last_7_days,
        coalesce(sum(daily.view_count) filter (where daily.activity_date > as_of.as_of_date - 30), 0) as views_last_30_days,
        coalesce(sum(daily.cart_count) filter (where daily.activity_date > as_of.as_of_date - 30), 0) as carts_last_30_days
    from {{ as_of_dates }} as as_of
    inner join {{ ref('int_customer_daily_activity') }} as daily
        on daily.activity_date <= as_of.as_of_date
    {%- if shoppers is not none %}
    where daily.user_id in (select user_id from {{ shoppers }})
    {%- endif %}
    group by all

),

session_activity as (

    select
        as_of.snapshot,
        sessions.user_id,
        count(*) as session_count,
        count(*) filter (where cast(sessions.first_cart_at as date) <= as_of.as_of_date) as carted_session_count,
        count(*) filter (where cast(sessions.first_purchase_at as date) <= as_of.as_of_date) as converted_session_count,
        count(*) filter (
            where cast(sessions.first_cart_at as date) <= as_of.as_of_date
                and not coalesce(cast(sessions.first_purchase_at as date) <= as_of.as_of_date, false)
        ) as abandoned_cart_session_count,
        count(*) filter (
            where cast(sessions.first_purchase_at as date) <= as_of.as_of_date
                and cast(sessions.first_purchase_at as date) > as_of.as_of_date - 90
        ) as orders_last_90_days
    from {{ as_of_dates }} as as_of
    inner join {{ ref('sessions') }} as sessions
        on sessions.session_date <= as_of.as_of_date
    {%- if shoppers is not none %}
    where sessions.user_id in (select user_id from {{ shoppers }})
    {%- endif %}
    group by all

),

activity_features as (

    select
        daily_activity.snapshot,
        daily_activity.as_of_date,
        daily_activity.user_id,
        coalesce(session_activity.session_count, 0) as session_count,
        daily_activity.view_count,
        daily_activity.cart_count,
        daily_activity.purchase_count,
        coalesce(session_activity.converted_session_count, 0) as order_count,
        daily_activity.revenue,
        daily_activity.revenue / nullif(session_activity.converted_session_count, 0) as average_basket,
        session_activity.converted_session_count / nullif(session_activity.session_count, 0) as conversion_rate,
        session_activity.abandoned_cart_session_count / nullif(session_activity.carted_session_count, 0) as cart_abandonment_rate,
        daily_activity.days_active,
        daily_activity.as_of_date - daily_activity.first_active_date as tenure_days,
        daily_activity.as_of_date - daily_activity.last_active_date as days_since_last_event,
        daily_activity.as_of_date - daily_activity.last_purchase_date as days_since_last_order,
        daily_activity.views_last_7_days,
        daily_activity.views_last_30_days,
        daily_activity.carts_last_30_days,
        coalesce(session_activity.orders_last_90_days, 0) as orders_last_90_days,
        daily_activity.first_active_date,
        daily_activity.last_active_date
    from daily_activity
    left join session_activity
        on daily_activity.snapshot = session_activity.snapshot
        and daily_activity.user_id = session_activity.user_id

)
{% endmacro %}
