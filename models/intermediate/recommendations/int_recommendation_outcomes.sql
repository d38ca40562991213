{#-
    One row per product shown in an answer (impression x rank) with what followed: the explicit
    feedback sent with its request id (click, cart, purchase), and the same shopper's cart and
    purchase of that product in the event logs within var feedback_attribution_days after the
    answer (conversion measured without explicit feedback; anonymous answers have none).
-#}

with impressions as (

    select request_id, served_at, user_id, product_ids, model_name, route
    from {{ ref('stg_recommendation_impressions') }}

),

feedback as (

    select request_id, product_id, action
    from {{ ref('stg_recommendation_feedback') }}

),

events as (

    select user_id, product_id, event_type, event_at
    from {{ ref('stg_events') }}
    where event_type in ('cart', 'purchase') and user_id is not null

),

shown as (

    select
        impressions.request_id,
        impressions.served_at,
        impressions.user_id,
        impressions.model_name,
        impressions.route,
        unnest(impressions.product_ids) as product_id,
        unnest(generate_series(1, len(impressions.product_ids))) as rank
    from impressions
    where len(impressions.product_ids) > 0

),

explicit as (

    select
        request_id,
        product_id,
        bool_or(action = 'click') as is_clicked,
        bool_or(action = 'cart') as is_carted,
        bool_or(action = 'purchase') as is_purchased
    from feedback
    group by request_id, product_id

),

logged as (

    select
        shown.request_id,
        shown.product_id,
        bool_or(events.event_type = 'cart') as is_carted_in_logs,
        bool_or(events.event_type = 'purchase') as is_purchased_in_logs
    from shown
    inner join events
        on events.user_id = shown.user_id
        and events.product_id = shown.product_id
        and events.event_at > shown.served_at
        and events.event_at <= shown.served_at
            + to_days(cast({{ var('feedback_attribution_days') }} as integer))
    group by shown.request_id, shown.product_id

),

final as (

    select
        shown.request_id,
        shown.served_at,
        cast(shown.served_at as date) as served_date,
        shown.user_id,
        shown.model_name,
        shown.route,
        shown.product_id,
        cast(shown.rank as integer) as rank,
        coalesce(explicit.is_clicked, false) as is_clicked,
        coalesce(explicit.is_carted, false) as is_carted,
        coalesce(explicit.is_purchased, false) as is_purchased,
        coalesce(logged.is_carted_in_logs, false) as is_carted_in_logs,
        coalesce(logged.is_purchased_in_logs, false) as is_purchased_in_logs
    from shown
    left join explicit
        on explicit.request_id = shown.request_id and explicit.product_id = shown.product_id
    left join logged
        on logged.request_id = shown.request_id and logged.product_id = shown.product_id

)

select * from final
