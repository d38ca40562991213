{#- One row per shopper (buyers and visitors who never bought alike). -#}

with events as (

    select user_id, event_at, event_type
    from {{ ref('stg_events') }}

),

sessions as (

    select user_id, session_id from {{ ref('sessions') }}

),

orders as (

    select user_id, ordered_at, item_count, basket_value from {{ ref('orders') }}

),

opt_outs as (

    select distinct user_id from {{ ref('gdpr_personalisation_opt_outs') }}

),

activity as (

    select
        user_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        count(*) as event_count,
        {{ event_count('view') }} as view_count,
        {{ event_count('cart') }} as cart_count,
        {{ event_count('purchase') }} as purchased_item_count
    from events
    group by user_id

),

session_counts as (

    select user_id, count(*) as session_count
    from sessions
    group by user_id

),

order_totals as (

    select
        user_id,
        count(*) as order_count,
        sum(basket_value) as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    group by user_id

),

final as (

    select
        activity.user_id,
        activity.first_seen_at,
        activity.last_seen_at,
        coalesce(session_counts.session_count, 0) as session_count,
        activity.event_count,
        activity.view_count,
        activity.cart_count,
        activity.purchased_item_count,
        coalesce(order_totals.order_count, 0) as order_count,
        coalesce(order_totals.revenue, 0) as revenue,
        order_totals.revenue / order_totals.order_count as average_basket,
        order_totals.first_order_at,
        order_totals.last_order_at,
        order_totals.order_count is not null as is_buyer,
        activity.user_id in (select user_id from opt_outs) as is_personalisation_opt_out
    from activity
    left join session_counts on activity.user_id = session_counts.user_id
    left join order_totals on activity.user_id = order_totals.user_id

)

select * from final
