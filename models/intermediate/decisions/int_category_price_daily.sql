{#-
    The input of price_elasticity: one row per second-level category and day, every day of the
    logs, with its units sold, its fixed-basket price index (the mean over the day's priced views
    of ln(price / the product's median price): a change in the mix of products bought is not a
    price move), the shop's totals of the same (price_elasticity removes the category itself to
    get the rest of the shop's promotion level), the shop's sessions and the calendar. The log
    sums are exact (macros/exact_aggregates.sql): the same events give the same index to the
    last bit, whatever order DuckDB adds them in.
-#}

with events as (

    select event_date, event_type, product_id, price, session_id
    from {{ ref('stg_events') }}

),

products as (

    select
        product_id,
        category_level_1 || '.' || category_level_2 as category_level_2,
        median_price
    from {{ ref('products') }}
    where category_level_1 is not null
        and category_level_2 is not null

),

holidays as (

    select distinct holiday_date from {{ ref('public_holidays') }}

),

category_days as (

    select
        products.category_level_2,
        events.event_date as activity_date,
        count(*) filter (where events.event_type = 'purchase') as units,
        count(*) filter (
            where events.event_type = 'view' and events.price > 0 and products.median_price > 0
        ) as priced_views,
        {{ exact_sum(
            'ln(events.price / products.median_price)',
            where="events.event_type = 'view' and events.price > 0 and products.median_price > 0",
        ) }} as log_price_sum
    from events
    inner join products on events.product_id = products.product_id
    group by all

),

shop_days as (

    select
        activity_date,
        sum(priced_views) as shop_priced_views,
        {{ exact_sum('log_price_sum') }} as shop_log_price_sum
    from category_days
    group by activity_date

),

sessions as (

    select event_date as activity_date, count(distinct session_id) as sessions
    from events
    group by event_date

),

spine as (

    select categories.category_level_2, sessions.activity_date, sessions.sessions
    from (select distinct category_level_2 from category_days) as categories
    cross join sessions

),

final as (

    select
        spine.category_level_2,
        spine.activity_date,
        coalesce(category_days.units, 0)::bigint as units,
        coalesce(category_days.priced_views, 0)::bigint as priced_views,
        category_days.log_price_sum / nullif(category_days.priced_views, 0) as log_price_index,
        coalesce(shop_days.shop_log_price_sum, 0) as shop_log_price_sum,
        coalesce(shop_days.shop_priced_views, 0)::bigint as shop_priced_views,
        spine.sessions::bigint as sessions,
        isodow(spine.activity_date) as day_of_week,
        spine.activity_date in (select holiday_date from holidays) as is_holiday
    from spine
    left join category_days
        on spine.category_level_2 = category_days.category_level_2
        and spine.activity_date = category_days.activity_date
    left join shop_days on spine.activity_date = shop_days.activity_date

)

select * from final
