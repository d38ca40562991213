{#-
    One row per product seen in the last two windows of var performance_window_days (28) days:
    the last window against the one before (views, carts, purchases, conversion, revenue and their
    change) and a label with its reason, compared with the product's category:
      new             first seen within the last window
      star            revenue in the top var performance_star_top_share of selling products, not falling
      high_potential  much attention (views in the category's top quarter) but conversion below
                      var performance_low_conversion_ratio x its category's
      underperforming revenue fell by var performance_falling_revenue_change or more, or conversion
                      well below its category's with enough views
      stable          everything else
    The first rule that applies wins.
-#}

{%- set window = var('performance_window_days') %}
{%- set in_window = 'event_date > last_date - ' ~ window %}
{%- set before_window = 'event_date <= last_date - ' ~ window %}

with events as (

    select product_id, event_date, event_type, price
    from {{ ref('stg_events') }}
    where event_date > (select max(event_date) from {{ ref('stg_events') }}) - {{ 2 * window }}

),

last_day as (

    select max(event_date) as last_date from {{ ref('stg_events') }}

),

products as (

    select product_id, category_code, category_level_1, brand, first_seen_at
    from {{ ref('products') }}

),

windows as (

    select
        events.product_id,
        {{ event_count('view', condition=in_window) }} as views,
        {{ event_count('cart', condition=in_window) }} as carts,
        {{ event_count('purchase', condition=in_window) }} as purchases,
        {{ purchase_revenue(condition=in_window) }} as revenue,
        {{ event_count('view', condition=before_window) }} as previous_views,
        {{ event_count('cart', condition=before_window) }} as previous_carts,
        {{ event_count('purchase', condition=before_window) }} as previous_purchases,
        {{ purchase_revenue(condition=before_window) }} as previous_revenue
    from events, last_day
    group by events.product_id

),

measured as (

    select
        windows.*,
        products.category_code,
        coalesce(products.category_code, 'unknown') as category,
        products.brand,
        products.first_seen_at,
        windows.purchases / nullif(windows.views, 0) as conversion_rate,
        windows.previous_purchases / nullif(windows.previous_views, 0) as previous_conversion_rate,
        (windows.revenue - windows.previous_revenue) / nullif(windows.previous_revenue, 0) as revenue_change,
        cast(products.first_seen_at as date) > (select last_date from last_day) - {{ window }} as is_new
    from windows
    inner join products on windows.product_id = products.product_id

),

categories as (

    select
        category,
        sum(purchases) / nullif(sum(views), 0) as category_conversion_rate,
        quantile_disc(views, 0.75) as category_views_p75
    from measured
    group by category

),

ranked as (

    select
        measured.*,
        categories.category_conversion_rate,
        categories.category_views_p75,
        case when measured.revenue > 0
            then percent_rank() over (partition by measured.revenue > 0 order by measured.revenue desc)
        end as revenue_rank_share
    from measured
    inner join categories on measured.category = categories.category

),

labelled as (

    select
        *,
        case
            when is_new then 'new'
            when revenue_rank_share < {{ var('performance_star_top_share') }}
                and coalesce(revenue_change, 0) > {{ var('performance_falling_revenue_change') }}
                then 'star'
            when views >= greatest(category_views_p75, {{ var('performance_min_views') }})
                and coalesce(conversion_rate, 0) < {{ var('performance_low_conversion_ratio') }} * category_conversion_rate
                then 'high_potential'
            when revenue_change <= {{ var('performance_falling_revenue_change') }}
                or (views >= {{ var('performance_min_views') }}
                    and coalesce(conversion_rate, 0) < {{ var('performance_low_conversion_ratio') }} * category_conversion_rate)
                then 'underperforming'
            else 'stable'
        end as performance_label
    from ranked

),

final as (

    select
        product_id,
        category_code,
        brand,
        views,
        carts,
        purchases,
        revenue,
        conversion_rate,
        previous_views,
        previous_carts,
        previous_purchases,
        previous_revenue,
        previous_conversion_rate,
        revenue_change,
        case
            when revenue_change is null then 'no sales before'
            when revenue_change > 0.1 then 'rising'
            when revenue_change < -0.1 then 'falling'
            else 'flat'
        end as revenue_trend,
        category_conversion_rate,
        performance_label,
        case performance_label
            when 'new' then 'First seen ' || strftime(first_seen_at, '%Y-%m-%d') || ', within the last {{ window }} days.'
            when 'star' then 'Revenue ' || round(revenue, 2) || ' in the last {{ window }} days, in the top '
                || round(100 * {{ var('performance_star_top_share') }}) || ' % of products'
                || coalesce(', ' || round(100 * revenue_change) || ' % against the {{ window }} days before', '') || '.'
            when 'high_potential' then views || ' views (top quarter of its category) but conversion '
                || round(100 * coalesce(conversion_rate, 0), 2) || ' % against ' || round(100 * category_conversion_rate, 2)
                || ' % for its category: fix price, photos or availability.'
            when 'underperforming' then
                case when revenue_change <= {{ var('performance_falling_revenue_change') }}
                    then 'Revenue fell ' || round(-100 * revenue_change) || ' % against the {{ window }} days before ('
                        || round(previous_revenue, 2) || ' to ' || round(revenue, 2) || ').'
                    else 'Conversion ' || round(100 * coalesce(conversion_rate, 0), 2) || ' % against '
                        || round(100 * category_conversion_rate, 2) || ' % for its category, on ' || views || ' views.'
                end
            else 'No rule applies: sales and conversion in line with its category.'
        end as performance_reason
    from labelled

)

select * from final
