{#- One row per day and category: traffic and sales (events without a category count as 'unknown'). -#}

with events as (

    select event_date, category_code, event_type, session_id, user_id, price
    from {{ ref('stg_events') }}

),

aggregated as (

    select
        event_date as sales_date,
        coalesce(category_code, 'unknown') as category_code,
        count(*) filter (where event_type = 'view') as view_count,
        count(*) filter (where event_type = 'cart') as cart_count,
        count(distinct session_id) filter (where event_type = 'purchase') as order_count,
        count(*) filter (where event_type = 'purchase') as units,
        count(distinct user_id) filter (where event_type = 'purchase') as buyer_count,
        coalesce(sum(price) filter (where event_type = 'purchase'), 0) as revenue
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
