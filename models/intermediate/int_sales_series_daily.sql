{#-
    The forecasting input: one row per series and day, every day from the series' first day with
    activity to the last day of data (days without sales are 0), with its traffic, price index
    and calendar. Series: the whole shop ('all'), each category family ('family:<level 1>'),
    each second-level category that sold at least var forecast_min_category_units units
    ('category:<level 1>.<level 2>'), and the focus brand ('brand:<var focus_brand>').
-#}

with events as (

    select event_date, event_type, price, category_code, brand
    from {{ ref('stg_events') }}

),

category_days as (

    select
        sales_date as activity_date,
        category_level_1,
        category_level_1 || '.' || coalesce(nullif(split_part(category_code, '.', 2), ''), 'other') as category_level_2,
        view_count,
        units,
        revenue
    from {{ ref('daily_category_sales') }}

),

qualifying_categories as (

    select category_level_2
    from category_days
    where category_level_1 <> 'unknown'
    group by category_level_2
    having sum(units) >= {{ var('forecast_min_category_units') }}

),

-- the categories of a family that has qualifying ones but do not qualify themselves
rest_categories as (

    select
        category_days.category_level_1 || '._rest' as category_level_2,
        category_days.activity_date,
        category_days.view_count,
        category_days.units,
        category_days.revenue
    from category_days
    where category_days.category_level_1 in (
            select split_part(category_level_2, '.', 1) from qualifying_categories
        )
        and category_days.category_level_2 not in (select category_level_2 from qualifying_categories)

),

series_days as (

    select 'all' as series_id, 'all' as series_level, event_date as activity_date,
        {{ event_count('view') }} as views,
        {{ event_count('purchase') }} as units,
        {{ purchase_revenue() }} as revenue
    from events
    group by all

    union all

    select 'brand:{{ var("focus_brand") }}', 'brand', event_date,
        {{ event_count('view') }},
        {{ event_count('purchase') }},
        {{ purchase_revenue() }}
    from events
    where brand = '{{ var("focus_brand") }}'
    group by all

    union all

    select 'family:' || category_level_1, 'category_family', activity_date, sum(view_count), sum(units), sum(revenue)
    from category_days
    group by all

    union all

    select 'category:' || category_level_2, 'category', activity_date, sum(view_count), sum(units), sum(revenue)
    from category_days
    where category_level_2 in (select category_level_2 from qualifying_categories)
    group by all

    union all

    select 'category:' || category_level_2, 'category', activity_date, sum(view_count), sum(units), sum(revenue)
    from rest_categories
    group by all

),

spans as (

    select series_id, any_value(series_level) as series_level, min(activity_date) as first_date
    from series_days
    group by series_id

),

spine as (

    select spans.series_id, spans.series_level, cast(day as date) as date
    from spans,
        range(spans.first_date, (select max(event_date) from events) + 1, interval 1 day) as days(day)

),

filled as (

    select
        spine.series_id,
        spine.series_level,
        spine.date,
        coalesce(series_days.revenue, 0) as revenue,
        coalesce(series_days.units, 0)::bigint as units,
        coalesce(series_days.views, 0)::bigint as views
    from spine
    left join series_days
        on spine.series_id = series_days.series_id
        and spine.date = series_days.activity_date

),

final as (

    select
        filled.*,
        -- the day's average selling price against the series' average selling price over the
        -- 28 days before it: only the past, so the feature never looks ahead
        (filled.revenue / nullif(filled.units, 0))
            / nullif(
                sum(filled.revenue) over trailing_28_days
                / nullif(sum(filled.units) over trailing_28_days, 0),
                0
            ) as price_index,
        isodow(filled.date) as day_of_week,
        weekofyear(filled.date) as week_of_year,
        month(filled.date) as month
    from filled
    window trailing_28_days as (
        partition by filled.series_id order by filled.date rows between 28 preceding and 1 preceding
    )

)

select * from final
