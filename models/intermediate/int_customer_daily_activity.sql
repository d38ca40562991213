{#- One row per shopper and active day: the event counts the customer features are built from. -#}

with events as (

    select user_id, event_date, event_type, price
    from {{ ref('stg_events') }}

)

select
    user_id,
    event_date as activity_date,
    count(*) filter (where event_type = 'view') as view_count,
    count(*) filter (where event_type = 'cart') as cart_count,
    count(*) filter (where event_type = 'purchase') as purchase_count,
    coalesce(sum(price) filter (where event_type = 'purchase'), 0) as purchase_revenue
from events
group by all
