-- The sales marts tell one story: orders, revenue and units agree between orders, sessions,
-- kpi_daily, kpi_weekly and daily_category_sales. Returns a row when they do not.

with totals as (

    select 'orders' as source, count(*) as order_count, sum(basket_value) as revenue, sum(item_count) as units
    from {{ ref('orders') }}
    union all
    select 'sessions', count(*) filter (where is_converted), sum(purchase_value), sum(purchase_count)
    from {{ ref('sessions') }}
    union all
    select 'kpi_daily', sum(order_count), sum(revenue), sum(units)
    from {{ ref('kpi_daily') }}
    union all
    select 'kpi_weekly', sum(order_count), sum(revenue), sum(units)
    from {{ ref('kpi_weekly') }}
    union all
    select 'daily_category_sales', null, sum(revenue), sum(units)
    from {{ ref('daily_category_sales') }}
    union all
    select 'stg_events', null, sum(price) filter (where event_type = 'purchase'), count(*) filter (where event_type = 'purchase')
    from {{ ref('stg_events') }}

),

reference as (

    select * from totals where source = 'orders'

)

select totals.*
from totals, reference
where coalesce(totals.revenue, 0) <> coalesce(reference.revenue, 0)
    or coalesce(totals.units, 0) <> coalesce(reference.units, 0)
    or (totals.order_count is not null and totals.order_count <> reference.order_count)
