{#- One row per shopper and active day: the event counts the customer features are built from. -#}

with events as (

    select user_id, event_date, event_type, price
    from {{ ref('stg_events') }}

)

select
    user_id,
    event_date as activity_date,
    {{ funnel_counts() }}
    {{ purchase_revenue() }} as purchase_revenue
from events
group by all
