{#-
    What each sent customer did in the var campaign_results_window_days days from the send date
    (the send day included): bought or not, and revenue, from orders. The segment is the one
    recorded with the send (known before it): a segment computed today would be biased by what
    the campaign made the customer do.
-#}

with sends as (

    select campaign_id, send_date, user_id, group_name, segment_name
    from {{ ref('stg_campaign_sends') }}

),

orders as (

    select user_id, ordered_at, basket_value from {{ ref('orders') }}

),

window_orders as (

    select
        sends.campaign_id,
        sends.send_date,
        sends.user_id,
        count(orders.user_id) as order_count,
        coalesce(sum(orders.basket_value), 0) as revenue
    from sends
    left join orders
        on sends.user_id = orders.user_id
        and orders.ordered_at >= cast(sends.send_date as timestamp)
        and orders.ordered_at < cast(sends.send_date as timestamp)
            + to_days({{ var('campaign_results_window_days') }})
    group by sends.campaign_id, sends.send_date, sends.user_id

),

final as (

    select
        sends.campaign_id,
        sends.send_date,
        sends.user_id,
        sends.group_name,
        sends.segment_name,
        window_orders.order_count > 0 as is_converted,
        cast(window_orders.revenue as double) as revenue
    from sends
    inner join window_orders
        on sends.campaign_id = window_orders.campaign_id
        and sends.send_date = window_orders.send_date
        and sends.user_id = window_orders.user_id

)

select * from final
