{#- One row per session with at least one purchase: the basket bought in that visit. -#}

with purchases as (

    select session_id, user_id, event_at, product_id, category_code, price
    from {{ ref('stg_events') }}
    where event_type = 'purchase'

),

aggregated as (

    select
        session_id as order_id,
        arg_min(user_id, (event_at, user_id)) as user_id,
        min(event_at) as ordered_at,
        count(*) as item_count,
        count(distinct product_id) as product_count,
        count(distinct coalesce(category_code, 'unknown')) as category_count,
        sum(price) as basket_value
    from purchases
    group by session_id

),

final as (

    select
        order_id,
        order_id as session_id,
        user_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        item_count,
        product_count,
        category_count,
        basket_value,
        row_number() over (partition by user_id order by ordered_at, order_id) as customer_order_number
    from aggregated

)

select * from final
