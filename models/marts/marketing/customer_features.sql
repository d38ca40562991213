{#-
    One row per visitor (buyers and the many who never buy), as of var as_of_date (default: the
    last day of data): behaviour, value, price appetite, favourite category family and taste (family shares, brand
    loyalty, in-house-brand share: int_customer_shopping_taste). The input
    of the segmentation and, through the same macro, of the propensity model.
-#}

with as_of_dates as (

    select 'current' as snapshot, {{ as_of_date() }} as as_of_date

),

{{ customer_activity_features('as_of_dates') }},

viewed as (

    select
        events.user_id,
        events.price,
        events.category_code,
        split_part(events.category_code, '.', 1) as category_family
    from {{ ref('stg_events') }} as events
    where events.event_type = 'view'
        and events.event_date <= (select as_of_date from as_of_dates)

),

category_prices as (

    -- the typical viewed price of each category (geometric mean over its views; exact_avg: the
    -- same views give the same value whatever order DuckDB adds them in)
    select category_code, {{ exact_avg('ln(price)') }} as category_log_price
    from viewed
    where category_code is not null
    group by category_code

),

price_appetite as (

    select
        viewed.user_id,
        median(viewed.price) as median_viewed_price,
        -- 1.0 = views what is typical in its categories; 0.5 = half as expensive; 2.0 = twice
        exp({{ exact_avg('ln(viewed.price) - category_prices.category_log_price') }}) as price_index
    from viewed
    left join category_prices on viewed.category_code = category_prices.category_code
    group by viewed.user_id

),

family_views as (

    select user_id, category_family, count(*) as view_count
    from viewed
    where category_family is not null
    group by all

),

preferred_families as (

    select
        user_id,
        first(category_family order by view_count desc, category_family) as preferred_category_family
    from family_views
    group by user_id

),

taste as (

    select * from {{ ref('int_customer_shopping_taste') }}

),

opt_outs as (

    select distinct user_id from {{ ref('gdpr_personalisation_opt_outs') }}

),

final as (

    select
        activity_features.user_id,
        activity_features.as_of_date,
        activity_features.session_count,
        activity_features.view_count,
        activity_features.cart_count,
        activity_features.purchase_count,
        activity_features.order_count,
        activity_features.revenue,
        activity_features.average_basket,
        activity_features.conversion_rate,
        activity_features.cart_abandonment_rate,
        activity_features.days_active,
        activity_features.tenure_days,
        activity_features.days_since_last_event as recency_days,
        activity_features.days_since_last_order,
        activity_features.views_last_7_days,
        activity_features.views_last_30_days,
        activity_features.carts_last_30_days,
        activity_features.orders_last_90_days,
        price_appetite.median_viewed_price,
        price_appetite.price_index,
        case
            when price_appetite.price_index is null then 'unknown'
            when price_appetite.price_index < {{ var('price_band_budget_below') }} then 'budget'
            when price_appetite.price_index > {{ var('price_band_premium_above') }} then 'premium'
            else 'mid-range'
        end as price_band,
        coalesce(preferred_families.preferred_category_family, 'unknown') as preferred_category_family,
        coalesce(taste.event_count, 0) as event_count,
        taste.family_share_mobile,
        taste.family_share_computers,
        taste.family_share_tech_accessories,
        taste.family_share_audio,
        taste.family_share_tv_video,
        taste.family_share_home,
        taste.family_share_kids,
        taste.family_share_fashion,
        taste.family_share_sport_outdoor,
        taste.family_share_diy_auto,
        taste.family_share_other,
        taste.brand_loyalty,
        taste.in_house_brand_share,
        activity_features.order_count > 0 as is_buyer,
        activity_features.user_id in (select user_id from opt_outs) as is_personalisation_opt_out
    from activity_features
    left join price_appetite on activity_features.user_id = price_appetite.user_id
    left join preferred_families on activity_features.user_id = preferred_families.user_id
    left join taste on activity_features.user_id = taste.user_id

)

select * from final
