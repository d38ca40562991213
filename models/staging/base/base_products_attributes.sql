{#-
    Per product, what its whole history says it is, for the products mart: the most frequent
    category_code, category_id and brand seen on any of its events, and the median of its valid
    prices. It reads every event, later ones included, so it describes the product as of the end
    of the data: events are NOT completed from it (that would look ahead; they are completed
    point in time by base_events_imputation_values).
    Ties are broken by the smallest value, so the same input always gives the same answer.
    Counted over every readable line: an exact duplicate weighs twice, as it would in the raw
    logs (it carries the same attributes, so it cannot change which value is most frequent
    between two values of the same product by more than its own copies).
-#}

with events as (

    select
        product_id,
        category_id,
        category_code,
        brand,
        if({{ price_defect('price', 'raw_price') }} is null, price, null) as valid_price
    from {{ ref('base_events_parsed') }}
    where not is_gdpr_erased and not is_retention_dropped
        and product_id > 0

),

-- One pass over the events; everything after works on this much smaller table.
combinations as (

    select
        product_id,
        category_id,
        category_code,
        brand,
        valid_price,
        count(*) as event_count
    from events
    group by all

),

category_codes as (

    select
        product_id,
        first(category_code order by event_count desc, category_code) as category_code
    from (
        select product_id, category_code, sum(event_count) as event_count
        from combinations
        where category_code is not null
        group by all
    )
    group by product_id

),

category_ids as (

    select
        product_id,
        first(category_id order by event_count desc, category_id) as category_id
    from (
        select product_id, category_id, sum(event_count) as event_count
        from combinations
        where category_id > 0
        group by all
    )
    group by product_id

),

brands as (

    select
        product_id,
        first(brand order by event_count desc, brand) as brand
    from (
        select product_id, brand, sum(event_count) as event_count
        from combinations
        where brand is not null
        group by all
    )
    group by product_id

),

-- Weighted median of the valid prices (the median of the expanded list of events).
price_counts as (

    select product_id, valid_price, sum(event_count) as event_count
    from combinations
    where valid_price is not null
    group by all

),

price_positions as (

    select
        product_id,
        valid_price,
        sum(event_count) over (partition by product_id order by valid_price) - event_count + 1 as first_position,
        sum(event_count) over (partition by product_id order by valid_price) as last_position,
        sum(event_count) over (partition by product_id) as valid_price_count
    from price_counts

),

price_medians as (

    select
        product_id,
        any_value(valid_price_count) as valid_price_count,
        cast(avg(valid_price) as decimal(18, 2)) as median_price
    from price_positions
    -- the middle position(s): one for an odd count, two for an even count
    where (valid_price_count + 1) // 2 between first_position and last_position
        or valid_price_count // 2 + 1 between first_position and last_position
    group by product_id

),

products as (

    select distinct product_id from combinations

)

select
    products.product_id,
    category_codes.category_code,
    category_ids.category_id,
    brands.brand,
    price_medians.median_price,
    coalesce(price_medians.valid_price_count, 0) as valid_price_count
from products
left join category_codes on products.product_id = category_codes.product_id
left join category_ids on products.product_id = category_ids.product_id
left join brands on products.product_id = brands.product_id
left join price_medians on products.product_id = price_medians.product_id
