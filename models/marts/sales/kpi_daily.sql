{#- One row per calendar day from the first to the last day of data, days without events included. -#}

with events as (

    select event_date, user_id from {{ ref('stg_events') }}

),

sessions as (

    select session_date, is_bounce, is_converted from {{ ref('sessions') }}

),

orders as (

    select order_date, item_count, basket_value from {{ ref('orders') }}

),

days as (

    select cast(day as date) as kpi_date
    from range(
        (select min(event_date) from events),
        (select max(event_date) from events) + 1,
        interval 1 day
    ) as spine(day)

),

visitors as (

    select event_date as kpi_date, count(distinct user_id) as visitor_count
    from events
    group by event_date

),

session_totals as (

    select
        session_date as kpi_date,
        count(*) as session_count,
        count(*) filter (where is_bounce) as bounced_session_count,
        count(*) filter (where is_converted) as converted_session_count
    from sessions
    group by session_date

),

order_totals as (

    select
        order_date as kpi_date,
        count(*) as order_count,
        sum(item_count) as units,
        sum(basket_value) as revenue
    from orders
    group by order_date

),

daily_totals as (

    select
        days.kpi_date,
        coalesce(visitors.visitor_count, 0) as visitor_count,
        coalesce(session_totals.session_count, 0) as session_count,
        coalesce(session_totals.converted_session_count, 0) as converted_session_count,
        coalesce(session_totals.bounced_session_count, 0) as bounced_session_count,
        coalesce(order_totals.order_count, 0) as order_count,
        coalesce(order_totals.units, 0) as units,
        coalesce(order_totals.revenue, 0) as revenue
    from days
    left join visitors on days.kpi_date = visitors.kpi_date
    left join session_totals on days.kpi_date = session_totals.kpi_date
    left join order_totals on days.kpi_date = order_totals.kpi_date

),

final as (

    select
        daily_totals.*,
        {{ kpi_ratios('daily_totals') }}
    from daily_totals

)

select * from final
