{#-
    What the hybrid recommender knows about a product besides who interacted with it (its
    "content" features, which carry cold-start products): category at each level, brand, and
    a price band relative to the other products of its category_id (terciles of the median price).
    Also whether the product's category is bought again and again (a repeat-purchase category:
    at least recommender_repeat_purchase_min_share of its buyer x product pairs bought in two or
    more sessions, over at least 20 pairs), where recommending what a shopper already bought
    makes sense. That flag is learned from behaviour, so it comes twice: from the purchases up to
    as_of_date (serving) and from those before the recommenders' test window (evaluation_*: what
    the evaluated models may know; the test window's purchases are the truth they are judged on).
    The catalogue's own attributes (category, brand, price) are the shop's metadata, known
    before anyone interacts with a product, and are read from the whole history.
-#}

with window_dates as (

    {{ recommender_window() }}

),

products as (

    select
        product_id,
        category_id,
        coalesce(category_code, 'unknown') as category_code,
        coalesce(category_level_1, 'unknown') as category_level_1,
        coalesce(category_level_1 || '.' || category_level_2, category_level_1, 'unknown')
            as category_level_2_code,
        coalesce(brand, 'unknown') as brand,
        median_price,
        first_seen_at
    from {{ ref('products') }}

),

repeat_pairs as (

    select
        events.product_id,
        count(distinct events.session_id) >= 2 as is_repeat,
        bool_or(events.event_date < window_dates.test_start_date) as is_bought_before_test,
        count(distinct events.session_id) filter (
            where events.event_date < window_dates.test_start_date
        ) >= 2 as is_repeat_before_test
    from {{ ref('stg_events') }} as events
    cross join window_dates
    where events.event_type = 'purchase'
        and events.event_date <= window_dates.as_of_date
    group by events.user_id, events.product_id

),

repeat_categories as (

    select
        products.category_code,
        count(*) as bought_pair_count,
        avg(case when repeat_pairs.is_repeat then 1.0 else 0.0 end) as repeat_purchase_share,
        count(*) filter (where repeat_pairs.is_bought_before_test) as evaluation_bought_pair_count,
        avg(case when repeat_pairs.is_repeat_before_test then 1.0 else 0.0 end) filter (
            where repeat_pairs.is_bought_before_test
        ) as evaluation_repeat_purchase_share
    from repeat_pairs
    inner join products on repeat_pairs.product_id = products.product_id
    group by products.category_code

),

final as (

    select
        products.product_id,
        products.category_id,
        products.category_code,
        products.category_level_1,
        products.category_level_2_code,
        products.brand,
        products.median_price,
        case ntile(3) over (partition by products.category_id order by products.median_price, products.product_id)
            when 1 then 'budget'
            when 2 then 'mid'
            else 'premium'
        end as price_band,
        coalesce(repeat_categories.repeat_purchase_share, 0) as category_repeat_purchase_share,
        coalesce(
            repeat_categories.bought_pair_count >= 20
            and repeat_categories.repeat_purchase_share
                >= {{ var('recommender_repeat_purchase_min_share') }},
            false
        ) as is_repeat_purchase_category,
        coalesce(repeat_categories.evaluation_repeat_purchase_share, 0)
            as evaluation_category_repeat_purchase_share,
        coalesce(
            repeat_categories.evaluation_bought_pair_count >= 20
            and repeat_categories.evaluation_repeat_purchase_share
                >= {{ var('recommender_repeat_purchase_min_share') }},
            false
        ) as evaluation_is_repeat_purchase_category,
        products.first_seen_at
    from products
    left join repeat_categories on products.category_code = repeat_categories.category_code

)

select * from final
