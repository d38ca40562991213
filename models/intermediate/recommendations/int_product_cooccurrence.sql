{#-
    Products seen together in one session, both directions (product_id -> other_product_id),
    for the item-kNN baseline and "frequently bought together". Two splits like interactions:
    evaluation_train (only the events before the test window: a session running into the
    window contributes its earlier part) and serving (every event up to as_of_date); with var
    recommender_train_window_days > 0, only the last that many days of each. Opt-outs are
    left out. Sessions with more than recommender_max_session_products distinct products
    (crawlers, bulk buyers) are skipped: they would add thousands of pairs each and say little
    about what goes together.
-#}

with window_dates as (

    {{ recommender_window() }}

),

events as (

    select events.session_id, events.product_id, events.event_type, events.event_date
    from {{ ref('stg_events') }} as events
    cross join window_dates
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_date <= window_dates.as_of_date
        and events.user_id not in (
            select user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null
        )

),

split_events as (

    select 'evaluation_train' as split, events.*
    from events cross join window_dates
    where events.event_date < window_dates.test_start_date
        {%- if var('recommender_train_window_days') | int > 0 %}
        and events.event_date >= window_dates.test_start_date - {{ var('recommender_train_window_days') | int }}
        {%- endif %}
    union all
    select 'serving', events.*
    from events cross join window_dates
    {%- if var('recommender_train_window_days') | int > 0 %}
    where events.event_date > window_dates.as_of_date - {{ var('recommender_train_window_days') | int }}
    {%- endif %}

),

session_products as (

    select
        split,
        session_id,
        product_id,
        bool_or(event_type = 'purchase') as is_bought
    from split_events
    group by split, session_id, product_id

),

sessions as (

    select split, session_id
    from session_products
    group by split, session_id
    having count(*) between 2 and {{ var('recommender_max_session_products') }}

),

pairs as (

    select
        sessions.split,
        left_side.product_id,
        right_side.product_id as other_product_id,
        left_side.is_bought and right_side.is_bought as is_bought_together
    from sessions
    inner join session_products as left_side
        on sessions.split = left_side.split and sessions.session_id = left_side.session_id
    inner join session_products as right_side
        on left_side.split = right_side.split
        and left_side.session_id = right_side.session_id
        and left_side.product_id <> right_side.product_id

),

{%- set chunks = product_pair_chunks() %}

-- in product chunks, so one hash table holds a part of the distinct pairs (macro
-- product_pair_chunks: the result is the same for any count)
final as (
    {%- for chunk in range(chunks) %}

    select
        split,
        product_id,
        other_product_id,
        -- 32-bit counts: the recommenders read tens of millions of pairs into Python
        cast(count(*) as integer) as session_count,
        cast(count(*) filter (where is_bought_together) as integer) as bought_together_count
    from pairs
    where product_id % {{ chunks }} = {{ chunk }}
    group by split, product_id, other_product_id
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

select * from final
