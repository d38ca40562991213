{#-
    What the hybrid recommender knows about a product besides who interacted with it (its
    "content" features, which carry cold-start products): category at each level, brand, and
    a price band relative to the other products of its category_id (terciles of the median price).
    Also whether the product's category is bought again and again (a repeat-purchase category:
    at least recommender_repeat_purchase_min_share of its buyer x product pairs bought in two or
    more sessions, over at least 20 pairs), where recommending what a shopper already bought
    makes sense.
-#}

with products as (

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
        product_id,
        count(distinct session_id) >= 2 as is_repeat
    from {{ ref('stg_events') }}
    where event_type = 'purchase'
    group by user_id, product_id

),

repeat_categories as (

    select
        products.category_code,
        count(*) as bought_pair_count,
        avg(case when repeat_pairs.is_repeat then 1.0 else 0.0 end) as repeat_purchase_share
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
        products.first_seen_at
    from products
    left join repeat_categories on products.category_code = repeat_categories.category_code

)

select * from final
