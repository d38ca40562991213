{#- One row per session: its span, funnel counts and the flags of an untrustworthy session. -#}

with events as (

    select session_id, user_id, event_at, event_type, price, is_session_derived
    from {{ ref('stg_events') }}

),

aggregated as (

    select
        session_id,
        -- the shopper who opened the session (ties broken by the smaller id)
        arg_min(user_id, (event_at, user_id)) as user_id,
        min(user_id) <> max(user_id) as is_shared_by_users,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as event_count,
        {{ funnel_counts(('view', 'cart', 'remove_from_cart', 'purchase')) }}
        {{ purchase_revenue() }} as purchase_value,
        min(event_at) filter (where event_type = 'cart') as first_cart_at,
        min(event_at) filter (where event_type = 'purchase') as first_purchase_at,
        bool_or(is_session_derived) as is_session_derived
    from events
    group by session_id

),

final as (

    select
        session_id,
        user_id,
        started_at,
        ended_at,
        cast(started_at as date) as session_date,
        epoch(ended_at - started_at)::bigint as duration_seconds,
        event_count,
        view_count,
        cart_count,
        remove_from_cart_count,
        purchase_count,
        purchase_value,
        first_cart_at,
        first_purchase_at,
        event_count = 1 as is_bounce,
        purchase_count > 0 as is_converted,
        is_shared_by_users,
        ended_at - started_at > interval '{{ var("max_session_duration_hours") }} hours' as has_inconsistent_times,
        is_session_derived
    from aggregated

)

select * from final
