{#-
    Products seen together in one session, both directions (product_id -> other_product_id),
    for the item-kNN baseline and "frequently bought together". Two splits like interactions:
    evaluation_train (sessions that started before the test window) and serving (every session
    up to as_of_date). Opt-outs are left out. Sessions with more than
    recommender_max_session_products distinct products (crawlers, bulk buyers) are skipped: they
    would add thousands of pairs each and say little about what goes together.
-#}


with window_dates as (

    {{ recommender_window() }}

),

session_products as (

    select
        events.session_id,
        events.product_id,
        min(events.event_date) as first_event_date,
        bool_or(events.event_type = 'purchase') as is_bought
    from {{ ref('stg_events') }} as events
    cross join window_dates
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_date <= window_dates.as_of_date
        and events.user_id not in (
            select user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null
        )
    group by events.session_id, events.product_id

),

sessions as (

    select session_id, min(first_event_date) as session_date
    from session_products
    group by session_id
    having count(*) between 2 and {{ var('recommender_max_session_products') }}

),

pairs as (

    select
        sessions.session_date,
        left_side.product_id,
        right_side.product_id as other_product_id,
        left_side.is_bought and right_side.is_bought as is_bought_together
    from sessions
    inner join session_products as left_side on sessions.session_id = left_side.session_id
    inner join session_products as right_side
        on left_side.session_id = right_side.session_id
        and left_side.product_id <> right_side.product_id

),

split_pairs as (

    select 'evaluation_train' as split, pairs.*
    from pairs cross join window_dates
    where pairs.session_date < window_dates.test_start_date
    union all
    select 'serving', pairs.*
    from pairs

),

final as (

    select
        split,
        product_id,
        other_product_id,
        count(*) as session_count,
        count(*) filter (where is_bought_together) as bought_together_count
    from split_pairs
    group by split, product_id, other_product_id

)

select * from final
