{#- One row per product seen in a kept event: what it is, what it costs, how it sells. -#}

with events as (

    select product_id, event_at, event_type, user_id, price
    from {{ ref('stg_events') }}

),

attributes as (

    select product_id, category_id, category_code, brand, median_price
    from {{ ref('base_products_attributes') }}

),

funnel as (

    select
        product_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        min(price) as min_price,
        max(price) as max_price,
        {{ funnel_counts(('view', 'cart', 'remove_from_cart', 'purchase')) }}
        {{ distinct_event_count('user_id', 'purchase') }} as buyer_count,
        {{ purchase_revenue() }} as revenue
    from events
    group by product_id

),

final as (

    select
        funnel.product_id,
        attributes.category_id,
        attributes.category_code,
        nullif(split_part(attributes.category_code, '.', 1), '') as category_level_1,
        nullif(split_part(attributes.category_code, '.', 2), '') as category_level_2,
        nullif(split_part(attributes.category_code, '.', 3), '') as category_level_3,
        attributes.brand,
        coalesce(attributes.median_price, funnel.min_price) as median_price,
        funnel.min_price,
        funnel.max_price,
        funnel.view_count,
        funnel.cart_count,
        funnel.remove_from_cart_count,
        funnel.purchase_count,
        funnel.buyer_count,
        funnel.revenue,
        funnel.purchase_count / nullif(funnel.view_count, 0) as view_to_purchase_rate,
        funnel.purchase_count / nullif(funnel.cart_count, 0) as cart_to_purchase_rate,
        funnel.first_seen_at,
        funnel.last_seen_at
    from funnel
    left join attributes on funnel.product_id = attributes.product_id

)

select * from final
