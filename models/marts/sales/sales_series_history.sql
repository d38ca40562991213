{#-
    The daily history of every forecast series (int_sales_series_daily), for BI and the
    dashboard's Forecasts page to draw beside sales_forecast: the same series, the same days.
-#}

with series as (

    select series_id, series_level, date, revenue, units, views
    from {{ ref('int_sales_series_daily') }}

),

final as (

    select
        series_id,
        series_level,
        date as sales_date,
        revenue,
        units,
        views
    from series

)

select * from final
