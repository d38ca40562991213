{#- One row per day and category: traffic and sales (events without a category count as 'unknown'). -#}

with events as (

    select event_date, category_code, event_type, session_id, user_id, price
    from {{ ref('stg_events') }}

),

aggregated as (

    select
        event_date as sales_date,
        coalesce(category_code, 'unknown') as category_code,
        {{ event_count('view') }} as view_count,
        {{ event_count('cart') }} as cart_count,
        {{ distinct_event_count('session_id', 'purchase') }} as order_count,
        {{ event_count('purchase') }} as units,
        {{ distinct_event_count('user_id', 'purchase') }} as buyer_count,
        {{ purchase_revenue() }} as revenue
    from events
    group by all

)

select
    sales_date,
    category_code,
    split_part(category_code, '.', 1) as category_level_1,
    view_count,
    cart_count,
    order_count,
    units,
    buyer_count,
    revenue
from aggregated
