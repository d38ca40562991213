{#-
    The test sessions of the next-item-in-session protocol (the published REES46 benchmarks,
    Transformers4Rec): sessions that start at or after the split (session_eval_cutoff(): the
    first day of the last recommender_eval_days days, or var session_eval_split_at) and by
    as_of_date (the session neighbours, popularity and histories come from before it), their
    view / cart / purchase events in time order with consecutive repeats of a product collapsed
    into one item (its strongest event type), only sessions with at least 2 items. One row per
    item; the evaluation predicts each item from the ones before it. is_returning_user: the
    shopper has events before the split (a known shopper, whose history can be used).
    Opt-outs are left out (nothing about them is used).
-#}

with window_dates as (

    select as_of_date, {{ session_eval_cutoff() }} as cutoff_at
    from ({{ recommender_window() }})

),

opt_outs as (

    select distinct user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null

),

events as (

    select
        events.event_id,
        cast(events.session_id as varchar) as session_id,
        events.user_id,
        events.product_id,
        events.event_type,
        events.event_at,
        events.event_date,
        case events.event_type when 'purchase' then 3 when 'cart' then 2 else 1 end as event_strength
    from {{ ref('stg_events') }} as events
    cross join window_dates
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_date <= window_dates.as_of_date
        and events.session_id is not null
        and events.user_id not in (select user_id from opt_outs)

),

test_sessions as (

    select
        events.session_id,
        min(events.user_id) as user_id,
        min(events.event_at) as session_started_at
    from events
    cross join window_dates
    group by events.session_id
    having min(events.event_at) >= any_value(window_dates.cutoff_at)

),

ordered as (

    select
        events.session_id,
        events.product_id,
        events.event_at,
        events.event_id,
        events.event_strength,
        lag(events.product_id) over (
            partition by events.session_id order by events.event_at, events.event_id
        ) as previous_product_id
    from events
    inner join test_sessions on events.session_id = test_sessions.session_id

),

runs as (

    -- a new item starts wherever the product changes (consecutive repeats collapse)
    select
        *,
        sum(case when previous_product_id is distinct from product_id then 1 else 0 end) over (
            partition by session_id order by event_at, event_id rows unbounded preceding
        ) as position
    from ordered

),

items as (

    select
        session_id,
        cast(position as integer) as position,
        min(product_id) as product_id,
        case max(event_strength) when 3 then 'purchase' when 2 then 'cart' else 'view' end
            as event_type,
        min(event_at) as event_at
    from runs
    group by session_id, position

),

lengths as (

    select session_id, cast(count(*) as integer) as session_length
    from items
    group by session_id
    having count(*) >= 2

),

returning_users as (

    select distinct events.user_id
    from events
    cross join window_dates
    where events.event_at < window_dates.cutoff_at

),

final as (

    select
        items.session_id,
        test_sessions.user_id,
        test_sessions.session_started_at,
        items.position,
        items.product_id,
        items.event_type,
        items.event_at,
        lengths.session_length,
        returning_users.user_id is not null as is_returning_user
    from items
    inner join lengths on items.session_id = lengths.session_id
    inner join test_sessions on items.session_id = test_sessions.session_id
    left join returning_users on test_sessions.user_id = returning_users.user_id

)

select * from final
