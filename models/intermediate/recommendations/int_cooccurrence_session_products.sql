{#-
    The session x product rows int_product_cooccurrence joins into pairs, both splits like
    interactions: evaluation_train (only the events before the test window: a session running
    into the window contributes its earlier part; aged at the window's first day) and serving
    (every event up to as_of_date, aged at the day after it); with var
    recommender_train_window_days > 0, only the last that many days of each. Opt-outs are left
    out, and so are the sessions with fewer than 2 or more than recommender_max_session_products
    distinct products (crawlers, bulk buyers: thousands of pairs each that say little about what
    goes together). Per row the product's strongest event weight, whether it was bought, when it
    was first seen in the session, and the session's recency weight
    (macros/session_item_neighbours.sql, co_visited_session_products). A table, not a CTE:
    every product chunk of the pairs reads it twice, and from about 30M events on a CTE of these
    rows outgrew DuckDB's memory and was read back from disk by every chunk.
-#}

with window_dates as (

    {{ recommender_window() }}

),

events as {{ inlined_cte() }} (

    select
        {{ co_visited_event_columns('events') }}
    from {{ ref('stg_events') }} as events
    cross join window_dates
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_date <= window_dates.as_of_date
        and events.user_id not in (
            select user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null
        )

),

split_events as (

    select 'evaluation_train' as split, window_dates.test_start_date as reference_date, events.*
    from events cross join window_dates
    where events.event_date < window_dates.test_start_date
        {%- if var('recommender_train_window_days') | int > 0 %}
        and events.event_date >= window_dates.test_start_date - {{ var('recommender_train_window_days') | int }}
        {%- endif %}
    union all
    select 'serving', window_dates.as_of_date + 1, events.*
    from events cross join window_dates
    {%- if var('recommender_train_window_days') | int > 0 %}
    where events.event_date > window_dates.as_of_date - {{ var('recommender_train_window_days') | int }}
    {%- endif %}

),

{{ co_visited_session_products('split_events') }}

select * from pair_session_products
