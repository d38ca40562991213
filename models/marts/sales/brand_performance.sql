{#-
    The focus brand (var focus_brand) against the categories it sells in, month by month: its
    revenue, views and units, the category's, its share of each, and the trend of its revenue share
    (against the month before and against the first month). One row per month and category_code
    the brand has products in, plus a row per month for all those categories together
    (category_code = 'all brand categories'). The view marketing needs for the Amazing Basics
    decline.
-#}
{%- set focus_brand_is = "brand = '" ~ var('focus_brand') ~ "'" %}

with events as (

    select date_trunc('month', event_date)::date as month_start, category_code, brand, event_type, price
    from {{ ref('stg_events') }}
    where category_code in (
        select distinct category_code from {{ ref('products') }}
        where brand = '{{ var("focus_brand") }}' and category_code is not null
    )

),

monthly as (

    select
        month_start,
        coalesce(category_code, 'all brand categories') as category_code,
        {{ purchase_revenue(condition=focus_brand_is) }} as brand_revenue,
        {{ purchase_revenue() }} as category_revenue,
        {{ event_count('purchase', condition=focus_brand_is) }} as brand_units,
        {{ event_count('purchase') }} as category_units,
        {{ event_count('view', condition=focus_brand_is) }} as brand_views,
        {{ event_count('view') }} as category_views
    from events
    {#- sqlfluff 4.4.0's duckdb dialect does not parse grouping sets (4.5.0 does; the dbt
        templater needs 4.4.0): the lint skips this one clause. #}
    group by grouping sets ((month_start, category_code), (month_start))  -- noqa: PRS

),

shares as (

    select
        *,
        brand_revenue / nullif(category_revenue, 0) as revenue_share,
        brand_views / nullif(category_views, 0) as view_share,
        brand_units / nullif(category_units, 0) as unit_share
    from monthly

),

final as (

    select
        month_start,
        '{{ var("focus_brand") }}' as brand,
        category_code,
        split_part(category_code, '.', 1) as category_level_1,
        brand_revenue,
        category_revenue,
        revenue_share,
        brand_units,
        category_units,
        unit_share,
        brand_views,
        category_views,
        view_share,
        revenue_share - lag(revenue_share) over by_month as revenue_share_change,
        revenue_share / nullif(first_value(revenue_share) over by_month, 0) as revenue_share_index,
        view_share / nullif(first_value(view_share) over by_month, 0) as view_share_index
    from shares
    window by_month as (partition by category_code order by month_start)

)

select * from final
