{#-
    The weekly view of kpi_daily (weeks start on Monday). Visitors are counted once per week,
    not summed over days; rates are recomputed from the weekly totals, not averaged.
-#}

with daily as (

    select * from {{ ref('kpi_daily') }}

),

events as (

    select event_date, user_id from {{ ref('stg_events') }}

),

weekly_visitors as (

    select date_trunc('week', event_date)::date as week_start, count(distinct user_id) as visitor_count
    from events
    group by all

),

weekly_totals as (

    select
        date_trunc('week', kpi_date)::date as week_start,
        count(*) as day_count,
        sum(session_count) as session_count,
        sum(converted_session_count) as converted_session_count,
        sum(bounced_session_count) as bounced_session_count,
        sum(order_count) as order_count,
        sum(units) as units,
        sum(revenue) as revenue
    from daily
    group by all

),

weeks as (

    select
        weekly_totals.week_start,
        weekly_totals.day_count,
        weekly_totals.day_count < 7 as is_partial_week,
        coalesce(weekly_visitors.visitor_count, 0) as visitor_count,
        weekly_totals.session_count,
        weekly_totals.converted_session_count,
        weekly_totals.bounced_session_count,
        weekly_totals.order_count,
        weekly_totals.units,
        weekly_totals.revenue
    from weekly_totals
    left join weekly_visitors on weekly_totals.week_start = weekly_visitors.week_start

),

final as (

    select
        weeks.*,
        {{ kpi_ratios('weeks') }}
    from weeks

)

select * from final
